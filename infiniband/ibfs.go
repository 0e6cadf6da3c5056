package infiniband

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Group is the directory a counter file lives in.
type Group uint8

// Counter groups.
const (
	// GroupCounters is ports/N/counters: the IBTA PortCounters (or
	// PortCountersExtended) attributes, read from the port's PMA.
	GroupCounters Group = iota
	// GroupCountersExt is ports/N/counters_ext: 64-bit counters some older
	// mlx4 kernels expose next to the 32-bit counters/.
	GroupCountersExt
	// GroupHWCounters is ports/N/hw_counters: driver counters (mlx5 RDMA,
	// retransmission, congestion and loss counters; EFA byte counters).
	GroupHWCounters
)

func (g Group) String() string {
	switch g {
	case GroupCounters:
		return "counters"
	case GroupCountersExt:
		return "counters_ext"
	case GroupHWCounters:
		return "hw_counters"
	}
	return fmt.Sprintf("group(%d)", uint8(g))
}

// Counter is one counter file's value, as read (data counters are still in
// 4-octet words here; see Spec).
type Counter struct {
	Group Group
	Name  string
	Value uint64
}

// FileError is a file that could not be read or parsed. Path is relative
// to class/infiniband.
type FileError struct {
	Path string
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Reason classifies the error for a metric label: "not_available" (the
// file reads N/A), "missing" (absent or vanished while being read), "read"
// (any other I/O error) or "parse".
func (e FileError) Reason() string {
	var pe *fs.PathError
	switch {
	case errors.Is(e.Err, ErrNotAvailable):
		return "not_available"
	case errors.Is(e.Err, fs.ErrNotExist):
		return "missing"
	case errors.As(e.Err, &pe):
		return "read"
	}
	return "parse"
}

// Device is one RDMA device (class/infiniband/NAME).
type Device struct {
	Name string
	// Attributes; "" when the file does not exist (Omni-Path has no
	// hca_type, EFA no board_id).
	NodeGUID        string
	SysImageGUID    string
	BoardID         string
	FirmwareVersion string
	HCAType         string
	Ports           []Port
	// Errors are the device-level files that failed (the ports directory,
	// an attribute file that exists but cannot be read).
	Errors []FileError
}

// Port is ports/N of a device.
type Port struct {
	Number    uint
	State     State
	PhysState State
	// HasRate is false when the rate file failed (see Errors).
	HasRate   bool
	Rate      Rate
	LinkLayer string // "InfiniBand", "Ethernet" (RoCE), "" when unreadable
	Counters  []Counter
	Errors    []FileError
	// Extended is true when counters/ has the unicast_/multicast_ files,
	// which only PortCountersExtended has, whether they were read or not.
	Extended bool
	gone     bool // the port directory vanished while being read
}

// Counter returns the named counter and whether the port has it.
func (p *Port) Counter(g Group, name string) (uint64, bool) {
	for i := range p.Counters {
		if c := &p.Counters[i]; c.Group == g && c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

// Spec is what IBTA and the kernel say about a counter file.
type Spec struct {
	// Bits is the counter's width. A PMA counter stops at its maximum
	// (2^Bits-1) instead of wrapping; 64 for counters that cannot
	// practically saturate.
	Bits uint8
	// Words is true for the data counters, which count 4-octet words.
	Words bool
}

// pmaWidths are the PortCounters widths of the counters/ files, as
// drivers/infiniband/core/sysfs.c declares them (PORT_PMA_ATTR) after IBTA
// vol. 1, PortCounters. The data and packet counters are 32-bit there and
// 64-bit when the kernel picked PortCountersExtended; see DataBits.
var pmaWidths = map[string]uint8{
	"symbol_error":                    16,
	"link_error_recovery":             8,
	"link_downed":                     8,
	"port_rcv_errors":                 16,
	"port_rcv_remote_physical_errors": 16,
	"port_rcv_switch_relay_errors":    16,
	"port_xmit_discards":              16,
	"port_xmit_constraint_errors":     8,
	"port_rcv_constraint_errors":      8,
	"local_link_integrity_errors":     4,
	"excessive_buffer_overrun_errors": 4,
	"VL15_dropped":                    16,
	"port_xmit_wait":                  32,
}

// dataCounters are the counters/ files that are 32-bit in PortCounters and
// 64-bit in PortCountersExtended.
var dataCounters = map[string]bool{
	"port_xmit_data": true, "port_rcv_data": true,
	"port_xmit_packets": true, "port_rcv_packets": true,
}

// IsWords reports whether a counter counts 4-octet words.
func IsWords(g Group, name string) bool {
	switch g {
	case GroupCounters:
		return name == "port_xmit_data" || name == "port_rcv_data"
	case GroupCountersExt:
		return name == "port_xmit_data_64" || name == "port_rcv_data_64"
	}
	return false
}

// DataBits is the width of the port's counters/ data and packet counters.
// The kernel picks the counter table once per port from the PMA's
// ClassPortInfo: PortCountersExtended (64-bit, with the unicast/multicast
// files) when CapabilityMask has the extended-width bit, the "noietf"
// extended table (64-bit, no unicast/multicast files), or the legacy
// 32-bit PortCounters. sysfs does not show which, so: 64 when the
// unicast/multicast files exist or any data/packet value is above 2^32-1,
// else 32.
func (p *Port) DataBits() uint8 {
	if p.Extended {
		return 64
	}
	for i := range p.Counters {
		c := &p.Counters[i]
		if c.Group != GroupCounters {
			continue
		}
		if strings.HasPrefix(c.Name, "unicast_") || strings.HasPrefix(c.Name, "multicast_") {
			return 64
		}
		if dataCounters[c.Name] && c.Value > 1<<32-1 {
			return 64
		}
	}
	return 32
}

// Spec returns the width and unit of one of the port's counters.
func (p *Port) Spec(g Group, name string, dataBits uint8) Spec {
	s := Spec{Bits: 64, Words: IsWords(g, name)}
	if g != GroupCounters {
		return s
	}
	if w, ok := pmaWidths[name]; ok {
		s.Bits = w
	} else if dataCounters[name] {
		s.Bits = dataBits
	}
	return s
}

// FS is a sysfs mount point (normally /sys).
type FS struct {
	root string
}

// New returns an FS rooted at the sysfs mount point.
func New(sysfs string) FS { return FS{root: sysfs} }

// Root is the sysfs mount point.
func (f FS) Root() string { return f.root }

// ClassPath is class/infiniband under the root.
func (f FS) ClassPath() string { return filepath.Join(f.root, "class", "infiniband") }

// ErrNoSysfs is returned by Devices when the root is no sysfs mount: it does
// not exist or has no class/ directory (every sysfs has one). That is a
// wrong --path.sysfs, not a host without InfiniBand.
var ErrNoSysfs = errors.New("not a sysfs mount")

// ErrNoClass is returned by Devices when there is no class/infiniband in a
// sysfs: the host has no RDMA device (or the ib_core module is not loaded).
var ErrNoClass = errors.New("no " + filepath.Join("class", "infiniband") + " in sysfs")
