package infiniband

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReaderFixtureTrees(t *testing.T) {
	// node_exporter's tree: the iWARP device reads N/A everywhere, which
	// costs its counters only; mlx4_0 is read whole.
	r := New("testdata/trees/node_exporter").NewReader()
	names, err := r.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "i40iw0" || names[1] != "mlx4_0" {
		t.Fatalf("Devices = %v", names)
	}
	iw := r.Device("i40iw0")
	if len(iw.Ports) != 1 || len(iw.Ports[0].Counters) != 0 || len(iw.Ports[0].Errors) != 17 {
		t.Fatalf("i40iw0: %d ports, %+v", len(iw.Ports), iw.Ports)
	}
	for _, e := range iw.Ports[0].Errors {
		if e.Reason() != "not_available" {
			t.Errorf("%s: reason %s", e.Path, e.Reason())
		}
	}
	if !iw.Ports[0].HasRate || iw.Ports[0].Rate.GbitPerSecond != 10 || iw.HCAType != "I40IW" {
		t.Errorf("i40iw0 attributes: %+v", iw)
	}
	mlx := r.Device("mlx4_0")
	p := mlx.Ports[0]
	if v, ok := p.Counter(GroupCountersExt, "port_xmit_data_64"); !ok || v != 3733440 {
		t.Errorf("port_xmit_data_64 = %d, %v", v, ok)
	}
	if p.Spec(GroupCounters, "port_xmit_wait", p.DataBits()).Bits != 32 || p.DataBits() != 64 {
		t.Errorf("widths: xmit_wait %d, data %d", p.Spec(GroupCounters, "port_xmit_wait", p.DataBits()).Bits, p.DataBits())
	}

	// procfs's tree: mlx4_0 has no unicast files but 64-bit values (the
	// noietf table); the mlx5 node_guid has no trailing newline.
	r = New("testdata/trees/procfs").NewReader()
	mlx4 := r.Device("mlx4_0")
	if mlx4.Ports[0].DataBits() != 64 {
		t.Errorf("procfs mlx4_0 data bits = %d, want 64", mlx4.Ports[0].DataBits())
	}
	mlx5 := r.Device("mlx5_0")
	if mlx5.NodeGUID != "0a7f:bc12:45ef:d23b" {
		t.Errorf("node_guid %q", mlx5.NodeGUID)
	}
	if v, ok := mlx5.Ports[0].Counter(GroupCounters, "port_xmit_data"); !ok || v*4 != 11523046035392 {
		t.Errorf("mlx5 port_xmit_data = %d (procfs expects 11523046035392 octets)", v*4)
	}

	// A class entry that is a symlink into devices/, and a device link.
	fsys := New("testdata/trees/yuuki_symlink")
	if p, err := fsys.DevicePath("mlx5_0"); err != nil || p != "devices/pci0000:00/0000:00:00.0" {
		t.Errorf("DevicePath via class link = %q, %v", p, err)
	}
	fsys = New("testdata/trees/gcm_good")
	if p, err := fsys.DevicePath("mlx5_0"); err != nil || p != "devices/pci0000:0c/0000:0c:00.0" {
		t.Errorf("DevicePath via device link = %q, %v", p, err)
	}
	if p, err := fsys.PCIDevicePath("00000000:0C:00.0"); err != nil || p != "devices/pci0000:0c/0000:0c:00.0" {
		t.Errorf("PCIDevicePath = %q, %v", p, err)
	}
}

func TestReaderNoClass(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "class"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(root).NewReader().Devices(); !errors.Is(err, ErrNoClass) {
		t.Fatalf("Devices on a sysfs without class/infiniband = %v, want ErrNoClass", err)
	}
}

// A root that does not exist, or is no sysfs (no class/), is a wrong
// --path.sysfs, not a host without HCA.
func TestReaderNoSysfs(t *testing.T) {
	for name, root := range map[string]string{
		"missing":     filepath.Join(t.TempDir(), "nonexistent"),
		"not a sysfs": t.TempDir(),
	} {
		_, err := New(root).NewReader().Devices()
		if !errors.Is(err, ErrNoSysfs) || errors.Is(err, ErrNoClass) {
			t.Errorf("%s: Devices = %v, want ErrNoSysfs", name, err)
		}
	}
}

func TestReaderPortsDirGone(t *testing.T) {
	root := t.TempDir()
	dev := filepath.Join(root, "class", "infiniband", "mlx5_0")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "fw_ver"), []byte("1.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(root).NewReader().Device("mlx5_0")
	if d.FirmwareVersion != "1.2.3" || len(d.Ports) != 0 || len(d.Errors) != 1 || !errors.Is(d.Errors[0].Err, fs.ErrNotExist) {
		t.Fatalf("device without ports: %+v", d)
	}
}

func TestReaderLongFile(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "class", "infiniband", "x", "ports", "1", "counters")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 10000)
	for i := range big {
		big[i] = '1'
	}
	if err := os.WriteFile(filepath.Join(p, "symbol_error"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(root).NewReader().Device("x")
	if len(d.Ports) != 1 || len(d.Ports[0].Counters) != 0 {
		t.Fatalf("oversized file parsed: %+v", d.Ports)
	}
	var found bool
	for _, e := range d.Ports[0].Errors {
		found = found || e.Path == "x/ports/1/counters/symbol_error"
	}
	if !found {
		t.Errorf("oversized file not reported: %+v", d.Ports[0].Errors)
	}
}

// TestReaderListingCache: a port's counter directories are listed once and
// trusted; a file that vanishes costs one scrape's error and makes the
// directory listed again, a file that appears is read once the listing is
// older than RelistEvery, and a port that vanishes is dropped.
func TestReaderListingCache(t *testing.T) {
	root := t.TempDir()
	port := filepath.Join(root, "class", "infiniband", "mlx5_0", "ports", "1")
	write := func(rel, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(port, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(port, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("state", "4: ACTIVE\n")
	write("phys_state", "5: LinkUp\n")
	write("rate", "400 Gb/sec (4X NDR)\n")
	write("link_layer", "InfiniBand\n")
	write("counters/symbol_error", "1\n")
	write("counters/link_downed", "2\n")
	write("counters/unicast_rcv_packets", "3\n")
	now := time.Unix(1e9, 0)
	r := New(root).NewReader()
	r.Now = func() time.Time { return now }
	r.Counter = func(_ Group, name string) bool { return name != "unicast_rcv_packets" }
	scrape := func() Port {
		t.Helper()
		if _, err := r.Devices(); err != nil {
			t.Fatal(err)
		}
		d := r.Device("mlx5_0")
		if len(d.Ports) != 1 {
			t.Fatalf("ports: %+v", d.Ports)
		}
		return d.Ports[0]
	}
	names := func(p Port) (out []string) {
		for _, c := range p.Counters {
			out = append(out, c.Name)
		}
		return out
	}
	p := scrape()
	if got := names(p); len(got) != 2 || !p.Extended || p.DataBits() != 64 {
		t.Fatalf("first scrape: %v, extended %v", got, p.Extended)
	}

	// A file that appears waits for the listing to age, and so does a
	// new device attribute value (cached with the ports listing).
	write("counters/VL15_dropped", "4\n")
	write("../../fw_ver", "28.41.1000\n")
	if got := names(scrape()); len(got) != 2 {
		t.Errorf("new file read before the relist interval: %v", got)
	}
	if fw := r.Device("mlx5_0").FirmwareVersion; fw != "" {
		t.Errorf("attributes read again before the relist interval: fw_ver %q", fw)
	}
	now = now.Add(DefaultRelistEvery)
	if got := names(scrape()); len(got) != 3 {
		t.Errorf("new file not read after the relist interval: %v", got)
	}
	if fw := r.Device("mlx5_0").FirmwareVersion; fw != "28.41.1000" {
		t.Errorf("attributes not read after the relist interval: fw_ver %q", fw)
	}

	// A file that vanishes: one error, then listed again.
	if err := os.Remove(filepath.Join(port, "counters", "link_downed")); err != nil {
		t.Fatal(err)
	}
	p = scrape()
	if len(p.Errors) != 1 || p.Errors[0].Reason() != "missing" {
		t.Errorf("vanished file: errors %+v", p.Errors)
	}
	p = scrape()
	if got := names(p); len(p.Errors) != 0 || len(got) != 2 {
		t.Errorf("after relisting: %v, errors %+v", got, p.Errors)
	}

	// The port directory vanishes: no port, and no error for it.
	if err := os.RemoveAll(port); err != nil {
		t.Fatal(err)
	}
	if d := r.Device("mlx5_0"); len(d.Ports) != 0 || len(d.Errors) != 0 {
		t.Errorf("vanished port: %+v", d)
	}
	// Listed again: the ports directory exists, empty.
	if d := r.Device("mlx5_0"); len(d.Ports) != 0 || len(d.Errors) != 0 {
		t.Errorf("after relisting a vanished port: %+v", d)
	}
}
