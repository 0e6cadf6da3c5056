package infiniband

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// mlx5HWCounters are the hw_counters of a ConnectX-7 port on a 6.x kernel.
var mlx5HWCounters = []string{
	"duplicate_request", "implied_nak_seq_err", "local_ack_timeout_err", "np_cnp_sent",
	"np_ecn_marked_roce_packets", "out_of_buffer", "out_of_sequence", "packet_seq_err",
	"req_cqe_error", "req_cqe_flush_error", "req_remote_access_errors", "req_remote_invalid_request",
	"req_rnr_retries_exceeded", "req_transport_retries_exceeded", "resp_cqe_error",
	"resp_cqe_flush_error", "resp_local_length_error", "resp_remote_access_errors",
	"rnr_nak_retry_err", "roce_adp_retrans", "roce_adp_retrans_to", "roce_slow_restart",
	"roce_slow_restart_cnps", "roce_slow_restart_trans", "rp_cnp_handled", "rp_cnp_ignored",
	"rx_atomic_requests", "rx_dct_connect", "rx_icrc_encapsulated", "rx_read_requests",
	"rx_write_requests", "lifespan",
}

var pmaExtCounters = []string{
	"symbol_error", "link_error_recovery", "link_downed", "port_rcv_errors",
	"port_rcv_remote_physical_errors", "port_rcv_switch_relay_errors", "port_xmit_discards",
	"port_xmit_constraint_errors", "port_rcv_constraint_errors", "local_link_integrity_errors",
	"excessive_buffer_overrun_errors", "VL15_dropped", "port_xmit_wait",
	"port_xmit_data", "port_rcv_data", "port_xmit_packets", "port_rcv_packets",
	"unicast_xmit_packets", "unicast_rcv_packets", "multicast_xmit_packets", "multicast_rcv_packets",
}

// genTree is a generated sysfs tree of a DGX-H100-like node: n ConnectX-7
// HCAs, one port each at 400 Gb/s 4X NDR with counters/ and hw_counters/,
// each behind its own PCIe switch together with one GPU.
type genTree struct {
	root string
}

func hcaBDF(i int) string { return fmt.Sprintf("0000:%02x:00.0", 0x18+i*0x10) }
func gpuBDF(i int) string { return fmt.Sprintf("0000:%02x:00.0", 0x19+i*0x10) }

// GPUBusID is the GPU next to HCA i, in NVML's form.
func gpuBusID(i int) string { return fmt.Sprintf("00000000:%02X:00.0", 0x19+i*0x10) }

func (g genTree) hcaDir(i int) string {
	rc := fmt.Sprintf("pci0000:%02x", 0x10+i*0x10)
	sw := fmt.Sprintf("0000:%02x:01.0", 0x10+i*0x10)
	return filepath.Join("devices", rc, sw, hcaBDF(i))
}

func (g genTree) gpuDir(i int) string {
	return filepath.Join(filepath.Dir(g.hcaDir(i)), gpuBDF(i))
}

func (g genTree) portDir(i int) string {
	return filepath.Join(g.root, g.hcaDir(i), "infiniband", fmt.Sprintf("mlx5_%d", i), "ports", "1")
}

func writeGenTree(tb testing.TB, root string, n int) genTree {
	tb.Helper()
	g := genTree{root: root}
	for i := 0; i < n; i++ {
		writeHCA(tb, root, g.hcaDir(i), i)
		writePCIFunction(tb, root, g.gpuDir(i))
	}
	return g
}

// writeHCA writes RDMA device mlx5_i on the PCI function at dir (relative to
// root, "devices/pci…/…/BDF"): its device attributes, one active port with
// counters, and the class/infiniband and bus/pci/devices links.
func writeHCA(tb testing.TB, root, dir string, i int) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	write := func(path, content string) {
		must(os.MkdirAll(filepath.Dir(path), 0o755))
		must(os.WriteFile(path, []byte(content), 0o644))
	}
	dev := fmt.Sprintf("mlx5_%d", i)
	devDir := filepath.Join(root, dir, "infiniband", dev)
	write(filepath.Join(devDir, "node_guid"), fmt.Sprintf("a088:c203:00%02x:1a2b\n", i))
	write(filepath.Join(devDir, "sys_image_guid"), fmt.Sprintf("a088:c203:00%02x:1a2b\n", i))
	write(filepath.Join(devDir, "board_id"), "MT_0000000838\n")
	write(filepath.Join(devDir, "fw_ver"), "28.41.1000\n")
	write(filepath.Join(devDir, "hca_type"), "MT4129\n")
	must(os.Symlink("../../../"+filepath.Base(dir), filepath.Join(devDir, "device")))
	p := filepath.Join(devDir, "ports", "1")
	write(filepath.Join(p, "state"), "4: ACTIVE\n")
	write(filepath.Join(p, "phys_state"), "5: LinkUp\n")
	write(filepath.Join(p, "rate"), "400 Gb/sec (4X NDR)\n")
	write(filepath.Join(p, "link_layer"), "InfiniBand\n")
	for j, c := range pmaExtCounters {
		v := j + i // error counters: small, below every width
		if j >= 13 {
			v = j*1000 + i // data and packets
		}
		write(filepath.Join(p, "counters", c), strconv.Itoa(v)+"\n")
	}
	for j, c := range mlx5HWCounters {
		v := j*7 + i
		if c == "lifespan" {
			v = 10
		}
		write(filepath.Join(p, "hw_counters", c), strconv.Itoa(v)+"\n")
	}
	must(os.MkdirAll(filepath.Join(root, "class", "infiniband"), 0o755))
	must(os.Symlink(filepath.Join("../..", dir, "infiniband", dev), filepath.Join(root, "class", "infiniband", dev)))
	writePCIFunction(tb, root, dir)
}

// writePCIFunction makes the PCI function directory dir (relative to root)
// and its bus/pci/devices link.
func writePCIFunction(tb testing.TB, root, dir string) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, dir), 0o755))
	link := filepath.Join(root, "bus", "pci", "devices", filepath.Base(dir))
	if _, err := os.Lstat(link); err == nil {
		return
	}
	must(os.MkdirAll(filepath.Dir(link), 0o755))
	must(os.Symlink(filepath.Join("../../..", dir), link))
}

// set writes a counter file of HCA i's port.
func (g genTree) set(tb testing.TB, i int, group, name string, v uint64) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(g.portDir(i), group, name), []byte(strconv.FormatUint(v, 10)+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func (g genTree) setFile(tb testing.TB, i int, file, content string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(g.portDir(i), file), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
