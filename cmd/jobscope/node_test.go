package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"jobscope/gpu/simulated"
	"jobscope/kubelet/kubelettest"
	"jobscope/test/testkit"
)

// startNodeAgent runs `jobscope node` in-process and returns its /metrics URL.
func startNodeAgent(t *testing.T, args ...string) string {
	t.Helper()
	return startJobscope(t, "node", append([]string{"--log.level=error"}, args...)...)
}

// gaugeOf is value with the labels as a map.
func gaugeOf(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	pairs := make([]string, 0, 2*len(labels))
	for k, v := range labels {
		pairs = append(pairs, k, v)
	}
	return value(mfs, name, pairs...)
}

// TestNodeCommand wires the whole agent: simulated GPUs, the Slurm fixture
// tree through --path.*, prolog files and a real kubelet socket.
func TestNodeCommand(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../../slurm/nodelocal/testdata/v2")); err != nil {
		t.Fatal(err)
	}
	// The prolog names simulated GPU 0 by UUID and GPU 1 by index.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "prolog", "4"),
		[]byte("job_id=4\nstart=1764400000\ngpu_uuids="+simulated.UUID(host, 0)+"\ngpu_indices=0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := kubelettest.Serve(t, &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: "p", Namespace: "ns", Containers: []*podresourcesv1.ContainerResources{
			{Name: "c", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"nvidia3"}}}},
		}},
		// A GPU allocated through a DRA claim, by NVIDIA's DRA driver.
		{Name: "dra", Namespace: "ns", Containers: []*podresourcesv1.ContainerResources{
			{Name: "c", DynamicResources: []*podresourcesv1.DynamicResource{{ClaimName: "gpu", ClaimNamespace: "ns",
				ClaimResources: []*podresourcesv1.ClaimResource{{DriverName: "gpu.nvidia.com", PoolName: "k8s-worker-7", DeviceName: "gpu-2"}}}}},
		}},
	}})
	url := startNodeAgent(t, "--gpu.backend=simulated", "--gpu.simulated-count=4",
		"--path.cgroupfs="+filepath.Join(root, "cgroup"), "--path.procfs="+filepath.Join(root, "proc"),
		"--path.rootfs="+root, "--slurm.prolog-dir=/prolog", "--kubelet.pod-resources-socket="+sock,
		"--path.sysfs="+filepath.Join(root, "sys"), "--node.name=gpu-a01", "--node.kubernetes-node=k8s-worker-7")
	mfs := waitFor(t, url, func(m map[string]*dto.MetricFamily) bool { return len(m["jobscope_gpu_up"].GetMetric()) == 4 })

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"jobscope_gpu_backend_up", map[string]string{"backend": "simulated"}, 1},
		{"jobscope_gpu_tenant_info", map[string]string{"gpu": "0", "job_id": "4", "tenant": "slurm"}, 1},
		{"jobscope_gpu_tenant_info", map[string]string{"gpu": "1", "job_id": "4", "tenant": "slurm"}, 1},
		{"jobscope_gpu_tenant_info", map[string]string{"gpu": "3", "k8s_pod": "p", "tenant": "kubernetes", "node": "gpu-a01"}, 1},
		{"jobscope_gpu_tenant_info", map[string]string{"gpu": "2", "k8s_pod": "dra", "tenant": "kubernetes", "node": "gpu-a01"}, 1},
		{"jobscope_node_info", map[string]string{"node": "gpu-a01", "k8s_node": "k8s-worker-7", "hostname": host}, 1},
		// GPU 1 came from GRES index 1 in the prolog file.
		{"jobscope_gpu_info", map[string]string{"gpu": "1", "gres_index": "1", "node": "gpu-a01"}, 1},
		{"jobscope_job_gpus", map[string]string{"job_id": "4"}, 2},
		{"jobscope_job_gpus", map[string]string{"job_id": "77"}, 0},
		{"jobscope_tenant_source_up", map[string]string{"source": "kubelet"}, 1},
		{"jobscope_scrape_collector_success", map[string]string{"collector": "gpu-tenants"}, 1},
	} {
		got, ok := gaugeOf(mfs, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := mfs["jobscope_scrape_collector_success"]; !ok {
		t.Error("framework metrics missing")
	}
}

// TestNodeCommandNoDriver runs the real nvml backend on this machine, which
// has no NVIDIA driver: the agent serves, says so, and never exits.
func TestNodeCommandNoDriver(t *testing.T) {
	if _, err := os.Stat("/proc/driver/nvidia"); err == nil {
		t.Skip("an NVIDIA driver is loaded here")
	}
	url := startNodeAgent(t, "--gpu.backend=nvml", "--kubelet.pod-resources-socket=", "--path.cgroupfs="+t.TempDir())
	mfs, _, err := testkit.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := gaugeOf(mfs, "jobscope_gpu_backend_up", map[string]string{"backend": "nvml"}); !ok || v != 0 {
		t.Errorf("jobscope_gpu_backend_up = %v (present %v), want 0", v, ok)
	}
	if v, ok := gaugeOf(mfs, "jobscope_scrape_collector_success", map[string]string{"collector": "gpu-backend"}); !ok || v != 1 {
		t.Errorf("gpu-backend collector success = %v, want 1", v)
	}
}

// TestNodeCommandSimulatedSeed: agents sharing a host (make demo runs one per
// Slurm node) get distinct GPUs from --gpu.simulated-seed, the UUIDs the
// demo's fake /proc/driver/nvidia trees name.
func TestNodeCommandSimulatedSeed(t *testing.T) {
	url := startNodeAgent(t, "--gpu.backend=simulated", "--gpu.simulated-count=2", "--gpu.simulated-seed=node7",
		"--kubelet.pod-resources-socket=", "--no-collector.infiniband", "--path.cgroupfs="+t.TempDir())
	mfs := waitFor(t, url, func(m map[string]*dto.MetricFamily) bool { return len(m["jobscope_gpu_up"].GetMetric()) == 2 })
	for i := 0; i < 2; i++ {
		want := simulated.UUID("node7", i)
		if v, ok := gaugeOf(mfs, "jobscope_gpu_up", map[string]string{"uuid": want}); !ok || v != 1 {
			t.Errorf("no GPU %s (simulated GPU %d of seed node7): up %v present %v", want, i, v, ok)
		}
	}
}

// TestNodeCommandDCGMMIGNoDriver runs the dcgm backend over the derived MIG
// page with the real NVML lister on this machine, which has no driver: the
// MIG instances keep <parent UUID>/<GI> and the agent serves them.
func TestNodeCommandDCGMMIGNoDriver(t *testing.T) {
	if _, err := os.Stat("/proc/driver/nvidia"); err == nil {
		t.Skip("an NVIDIA driver is loaded here")
	}
	page, err := os.ReadFile("../../gpu/dcgm/testdata/dcgm-exporter-A100-MIG-derived.prom")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(page) }))
	defer srv.Close()
	url := startNodeAgent(t, "--gpu.backend=dcgm", "--dcgm.exporter-url="+srv.URL+"/metrics",
		"--kubelet.pod-resources-socket=", "--path.cgroupfs="+t.TempDir())
	mfs, _, err := testkit.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	const parent = "GPU-513536b6-7d19-9063-b049-1e69664bb298"
	for _, gi := range []string{"3", "6"} {
		if _, ok := gaugeOf(mfs, "jobscope_gpu_info", map[string]string{"uuid": parent + "/" + gi, "parent_uuid": parent, "gpu_instance": gi}); !ok {
			t.Errorf("no jobscope_gpu_info for GI %s as %s/%s", gi, parent, gi)
		}
	}
}
