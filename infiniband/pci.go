package infiniband

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DevicePath returns the sysfs path (relative to the root, e.g.
// "devices/pci0000:17/0000:17:01.0/0000:18:00.0") of the PCI function an
// RDMA device sits on, resolving class/infiniband/NAME/device or, where
// that link is missing, the class entry itself.
func (f FS) DevicePath(name string) (string, error) {
	class := filepath.Join(f.ClassPath(), name)
	p, err := filepath.EvalSymlinks(filepath.Join(class, "device"))
	if err != nil {
		// The class entry is itself a link to
		// devices/<pci path>/infiniband/NAME on a real system.
		dev, err2 := filepath.EvalSymlinks(class)
		if err2 != nil {
			return "", err
		}
		if filepath.Base(filepath.Dir(dev)) != "infiniband" {
			return "", err
		}
		p = filepath.Dir(filepath.Dir(dev))
	}
	return f.rel(p)
}

// PCIDevicePath returns the sysfs path of a PCI function by its bus id
// (bus/pci/devices/ADDR resolved). NVML's "00000000:1B:00.0" form is
// accepted.
func (f FS) PCIDevicePath(busID string) (string, error) {
	p, err := filepath.EvalSymlinks(filepath.Join(f.root, "bus", "pci", "devices", NormalisePCIAddress(busID)))
	if err != nil {
		return "", err
	}
	return f.rel(p)
}

func (f FS) rel(p string) (string, error) {
	root, err := filepath.EvalSymlinks(f.root)
	if err != nil {
		return "", err
	}
	return filepath.Rel(root, p)
}

// NormalisePCIAddress turns "00000000:1B:00.0" (NVML) or "0000:1b:00.0"
// into sysfs's "0000:1b:00.0".
func NormalisePCIAddress(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if dom, rest, ok := strings.Cut(s, ":"); ok && len(dom) > 4 && strings.Count(rest, ":") == 1 {
		s = dom[len(dom)-4:] + ":" + rest
	}
	return s
}

// CommonPathElements counts the leading path elements two sysfs device
// paths share. Below the root complex ("devices/pci0000:17") every shared
// element is a shared PCIe switch or bridge, so more shared elements means
// nearer in PCIe topology.
func CommonPathElements(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	return n
}

// SameRootComplexElements is CommonPathElements counted only when the two
// paths share their PCI root complex ("devices/pci0000:17"): 2 for the
// same root complex alone, 3 for the same root port, more for each shared
// switch or bridge below it; 0 for different root complexes or paths that
// are not under one (devices/virtual/...).
func SameRootComplexElements(a, b string) int {
	n := CommonPathElements(a, b)
	if n < 2 {
		return 0
	}
	as := strings.SplitN(a, "/", 3)
	if as[0] != "devices" || !strings.HasPrefix(as[1], "pci") {
		return 0
	}
	return n
}

// NUMANode returns the NUMA node of the PCI function at path (relative to
// the root, as DevicePath and PCIDevicePath return it) from its numa_node
// file, or -1 when unknown: no file (a virtual device, a kernel without
// NUMA) or -1 written by a kernel whose firmware gives no proximity domain.
func (f FS) NUMANode(path string) int {
	b, err := os.ReadFile(filepath.Join(f.root, path, "numa_node"))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return -1
	}
	return n
}
