package infiniband

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"jobscope/infiniband"
)

// writeTwoSocketTree writes a 2-socket node whose GPUs and HCAs sit under
// different root complexes and NUMA nodes:
//
//	NUMA 0  pci0000:10  rp 10:01.0 ─ switch A (11:00.0)
//	                      ├ 12:00.0 ─ switch B (13:00.0)
//	                      │             ├ 14:00.0 ─ mlx5_2 (15:00.0)
//	                      │             └ 14:01.0 ─ GPU 16:00.0
//	                      └ 12:01.0 ─ mlx5_1 (17:00.0)
//	                    rp 10:03.0 ─ GPU 19:00.0
//	        pci0000:20  rp 20:01.0 ─ mlx5_0 (21:00.0)
//	NUMA 1  pci0000:80  rp 80:01.0 ─ mlx5_3 (81:00.0)
//	        pci0000:90  rp 90:01.0 ─ GPU 91:00.0
//	        pci0000:a0  rp a0:01.0 ─ mlx5_4 (a1:00.0)
//	NUMA -1 pci0000:b0  rp b0:01.0 ─ GPU b1:00.0
//	NUMA 2  pci0000:c0  rp c0:01.0 ─ GPU c1:00.0 (no HCA on that node)
//
// mlx5_5 is a virtual device (no PCI parent).
func writeTwoSocketTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	numa := func(dir string, n int) {
		if err := os.WriteFile(filepath.Join(root, dir, "numa_node"), []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hcas := []struct {
		dir  string
		numa int
	}{
		{"devices/pci0000:20/0000:20:01.0/0000:21:00.0", 0},
		{"devices/pci0000:10/0000:10:01.0/0000:11:00.0/0000:12:01.0/0000:17:00.0", 0},
		{"devices/pci0000:10/0000:10:01.0/0000:11:00.0/0000:12:00.0/0000:13:00.0/0000:14:00.0/0000:15:00.0", 0},
		{"devices/pci0000:80/0000:80:01.0/0000:81:00.0", 1},
		{"devices/pci0000:a0/0000:a0:01.0/0000:a1:00.0", 1},
	}
	for i, h := range hcas {
		writeHCA(t, root, h.dir, i)
		numa(h.dir, h.numa)
	}
	for dir, n := range map[string]int{
		"devices/pci0000:10/0000:10:01.0/0000:11:00.0/0000:12:00.0/0000:13:00.0/0000:14:01.0/0000:16:00.0": 0,
		"devices/pci0000:10/0000:10:03.0/0000:19:00.0":                                                     0,
		"devices/pci0000:90/0000:90:01.0/0000:91:00.0":                                                     1,
		"devices/pci0000:b0/0000:b0:01.0/0000:b1:00.0":                                                     -1,
		"devices/pci0000:c0/0000:c0:01.0/0000:c1:00.0":                                                     2,
	} {
		writePCIFunction(t, root, dir)
		numa(dir, n)
	}
	// A virtual device: a class entry without a PCI parent.
	writeHCA(t, root, "devices/virtual/rxe", 5)
	if err := os.Remove(filepath.Join(root, "bus", "pci", "devices", "rxe")); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestJobAttributionTopology: on a shared node each GPU is given the HCA
// sharing the longest PCI path with it below its root complex, else one on
// its NUMA node, else none: never a device on another root complex and
// socket just because it sorts first.
func TestJobAttributionTopology(t *testing.T) {
	root := writeTwoSocketTree(t)
	c := newCollector(t, Options{SysFS: root, Now: time.Now})
	devs := make([]infiniband.Device, 6)
	for i := range devs {
		devs[i].Name = "mlx5_" + strconv.Itoa(i)
	}
	for _, tc := range []struct {
		bus, want, why string
	}{
		{"00000000:16:00.0", "mlx5_2", "same PCIe switch beats same root port (mlx5_1)"},
		{"00000000:19:00.0", "mlx5_1", "same root complex (mlx5_1, mlx5_2: first by name) beats same NUMA node (mlx5_0)"},
		{"00000000:91:00.0", "mlx5_3", "no HCA under its root complex: first HCA on its NUMA node"},
		{"00000000:B1:00.0", "", "no HCA under its root complex, NUMA node unknown: none"},
		{"00000000:C1:00.0", "", "no HCA under its root complex or on its NUMA node: none"},
		{"00000000:E1:00.0", "", "not in sysfs: none"},
	} {
		got := c.nearestHCAs(Job{ID: "1", GPUPCIBusIDs: []string{tc.bus}}, devs)
		var names []string
		for n := range got {
			names = append(names, n)
		}
		if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || !got[tc.want]) {
			t.Errorf("GPU %s: nearest %v, want %q (%s)", tc.bus, names, tc.want, tc.why)
		}
	}

	// Through a scrape: job 2's GPU has no HCA under its root complex or on
	// its NUMA node, so on a shared node it gets no series; job 3 gets the
	// HCA on its NUMA node.
	clock := &fixedClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	jobs := []Job{
		{ID: "2", Start: clock.t.Add(-time.Hour), GPUPCIBusIDs: []string{"00000000:C1:00.0"}},
		{ID: "3", Start: clock.t.Add(-time.Hour), GPUPCIBusIDs: []string{"00000000:91:00.0"}},
	}
	c = newCollector(t, Options{SysFS: root, Jobs: func() []Job { return jobs }, Now: clock.now})
	reg, a := registry(t, c)
	gather(t, reg, a)
	clock.t = clock.t.Add(time.Minute)
	mfs := gather(t, reg, a)
	mustAbsent(t, mfs, "job_received_bytes_total", "job_id=2")
	mustSample(t, mfs, 0, "job_received_bytes_total", "job_id=3", "device=mlx5_3", "attribution=shared-nearest-hca")
	mustAbsent(t, mfs, "job_received_bytes_total", "job_id=3", "device=mlx5_0")
}
