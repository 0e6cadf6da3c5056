package infiniband

import (
	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
	"jobscope/infiniband"
)

// Namespace and subsystem of every metric here: jobscope_infiniband_*.
const (
	namespace = "jobscope"
	subsystem = "infiniband"
)

func gaugeDesc(name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewGaugeDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels...)
}

func counterDesc(name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewCounterDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels...)
}

var portLabels = []string{"device", "port"}

type counterKey struct {
	group infiniband.Group
	name  string
}

// family is how one counter file maps to a metric: a named family (data and
// packet counters, in bytes and packets) or a generic one with a `counter`
// label holding the kernel's file name.
type family struct {
	desc    *collectors.FamilyDesc
	generic bool
}

type descs struct {
	named map[counterKey]family
	// Generic families, one per group.
	counter, extCounter, hwCounter family
	lifespan                       *collectors.FamilyDesc

	deviceInfo, portInfo, portState, portPhysState     *collectors.FamilyDesc
	portStateID, portPhysStateID, rate, width          *collectors.FamilyDesc
	expectedRate, expectedWidth, degraded              *collectors.FamilyDesc
	saturated, resets, readErrors                      *collectors.FamilyDesc
	jobRxBytes, jobTxBytes, jobRxPackets, jobTxPackets *collectors.FamilyDesc
}

func newDescs() *descs {
	d := &descs{named: map[counterKey]family{}}
	for _, n := range []struct {
		group      infiniband.Group
		file, name string
		help       string
	}{
		{infiniband.GroupCounters, "port_rcv_data", "port_received_bytes_total", "Data octets received on the port (counters/port_rcv_data, which counts 4-octet words, times 4)."},
		{infiniband.GroupCounters, "port_xmit_data", "port_transmitted_bytes_total", "Data octets transmitted on the port (counters/port_xmit_data times 4)."},
		{infiniband.GroupCounters, "port_rcv_packets", "port_received_packets_total", "Packets received on the port, errors included (counters/port_rcv_packets)."},
		{infiniband.GroupCounters, "port_xmit_packets", "port_transmitted_packets_total", "Packets transmitted on the port (counters/port_xmit_packets)."},
		{infiniband.GroupCounters, "unicast_rcv_packets", "port_unicast_received_packets_total", "Unicast packets received (counters/unicast_rcv_packets)."},
		{infiniband.GroupCounters, "unicast_xmit_packets", "port_unicast_transmitted_packets_total", "Unicast packets transmitted (counters/unicast_xmit_packets)."},
		{infiniband.GroupCounters, "multicast_rcv_packets", "port_multicast_received_packets_total", "Multicast packets received (counters/multicast_rcv_packets)."},
		{infiniband.GroupCounters, "multicast_xmit_packets", "port_multicast_transmitted_packets_total", "Multicast packets transmitted (counters/multicast_xmit_packets)."},
		{infiniband.GroupCountersExt, "port_rcv_data_64", "port_ext_received_bytes_total", "Data octets received, from the 64-bit counters_ext/port_rcv_data_64 of older mlx4 kernels (4-octet words times 4)."},
		{infiniband.GroupCountersExt, "port_xmit_data_64", "port_ext_transmitted_bytes_total", "Data octets transmitted, from counters_ext/port_xmit_data_64 (4-octet words times 4)."},
		{infiniband.GroupCountersExt, "port_rcv_packets_64", "port_ext_received_packets_total", "Packets received, from counters_ext/port_rcv_packets_64."},
		{infiniband.GroupCountersExt, "port_xmit_packets_64", "port_ext_transmitted_packets_total", "Packets transmitted, from counters_ext/port_xmit_packets_64."},
		{infiniband.GroupCountersExt, "port_unicast_rcv_packets", "port_ext_unicast_received_packets_total", "Unicast packets received, from counters_ext/port_unicast_rcv_packets."},
		{infiniband.GroupCountersExt, "port_unicast_xmit_packets", "port_ext_unicast_transmitted_packets_total", "Unicast packets transmitted, from counters_ext/port_unicast_xmit_packets."},
		{infiniband.GroupCountersExt, "port_multicast_rcv_packets", "port_ext_multicast_received_packets_total", "Multicast packets received, from counters_ext/port_multicast_rcv_packets."},
		{infiniband.GroupCountersExt, "port_multicast_xmit_packets", "port_ext_multicast_transmitted_packets_total", "Multicast packets transmitted, from counters_ext/port_multicast_xmit_packets."},
	} {
		d.named[counterKey{n.group, n.file}] = family{desc: counterDesc(n.name, n.help+" Survives counter resets.", portLabels...)}
	}
	withCounter := []string{"device", "port", "counter"}
	d.counter = family{generic: true, desc: counterDesc("port_pma_total",
		"Every other counters/ file (PMA error counters, port_xmit_wait in ticks), by kernel file name. Survives counter resets; see jobscope_infiniband_port_pma_saturated.", withCounter...)}
	d.extCounter = family{generic: true, desc: counterDesc("port_ext_pma_total",
		"Every other counters_ext/ file, by kernel file name. Survives counter resets.", withCounter...)}
	d.hwCounter = family{generic: true, desc: counterDesc("port_hw_stats_total",
		"Driver counters of hw_counters/ (mlx5 RDMA, retransmission, congestion and loss counters; EFA rx_bytes/tx_bytes in octets), by kernel file name. Survives counter resets.", withCounter...)}
	d.lifespan = gaugeDesc("port_hw_stats_lifespan_seconds",
		"How long the driver caches hw_counters values between firmware reads (hw_counters/lifespan).", portLabels...)

	d.deviceInfo = gaugeDesc("device_info", "RDMA device metadata (always 1); empty labels for attributes the driver lacks.",
		"device", "node_guid", "sys_image_guid", "board_id", "firmware_version", "hca_type", "pci_address")
	d.portInfo = gaugeDesc("port_info", "Port metadata (always 1): link layer (InfiniBand, or Ethernet for RoCE) and per-lane speed name.",
		"device", "port", "link_layer", "speed")
	d.portState = gaugeDesc("port_state", "Logical port state (always 1; the state is the label: down, init, armed, active, active_defer).",
		"device", "port", "state")
	d.portPhysState = gaugeDesc("port_physical_state", "Physical port state (always 1; the state is the label: sleep, polling, disabled, port_configuration_training, link_up, link_error_recovery, phy_test).",
		"device", "port", "state")
	d.portStateID = gaugeDesc("port_state_id", "Logical port state as IBTA numbers it (1 down, 2 init, 3 armed, 4 active, 5 active_defer).", portLabels...)
	d.portPhysStateID = gaugeDesc("port_physical_state_id", "Physical port state as IBTA numbers it (2 polling, 3 disabled, 4 training, 5 link up, 6 link error recovery).", portLabels...)
	d.rate = gaugeDesc("port_rate_bytes_per_second", "Rate the port trained at (ports/N/rate), in octets per second.", portLabels...)
	d.width = gaugeDesc("port_link_width_lanes", "Link width the port trained at, in lanes (4 for 4X).", portLabels...)
	d.expectedRate = gaugeDesc("port_expected_rate_bytes_per_second", "Rate the port should train at (--infiniband.expected-rate), for ports with an expectation.", portLabels...)
	d.expectedWidth = gaugeDesc("port_expected_link_width_lanes", "Link width the port should train at (--infiniband.expected-width), for ports with an expectation.", portLabels...)
	d.degraded = gaugeDesc("port_link_degraded", "1 when an active port trained below its expected rate or width, else 0; only for ports with an expectation.", portLabels...)
	d.saturated = gaugeDesc("port_pma_saturated",
		"1 when a fixed-width PMA counter of counters/ is at its maximum (2^bits-1): it has stopped counting and its rate reads 0 until it is reset.", "device", "port", "counter")
	d.resets = counterDesc("port_stat_resets_total", "Counter decreases seen on the port (a reset by perfquery -R, a driver reload or a firmware reset); the exported counters continue across them.", portLabels...)
	d.readErrors = counterDesc("read_errors_total",
		"sysfs files that could not be used, by device and reason (not_available: the file reads N/A (no PMA); missing: absent or vanished; read; parse). Each costs that one value only.", "device", "reason")

	jobLabels := []string{"job_id", "device", "port", "attribution"}
	d.jobRxBytes = counterDesc("job_received_bytes_total", "Octets received on the port since the job started on this node. attribution=exclusive: the job holds the node; shared-nearest-hca: the node is shared and this is the HCA nearest the job's GPUs, whose traffic may also be other jobs'.", jobLabels...)
	d.jobTxBytes = counterDesc("job_transmitted_bytes_total", "Octets transmitted on the port since the job started on this node (attribution as for jobscope_infiniband_job_received_bytes_total).", jobLabels...)
	d.jobRxPackets = counterDesc("job_received_packets_total", "Packets received on the port since the job started on this node (attribution as for jobscope_infiniband_job_received_bytes_total).", jobLabels...)
	d.jobTxPackets = counterDesc("job_transmitted_packets_total", "Packets transmitted on the port since the job started on this node (attribution as for jobscope_infiniband_job_received_bytes_total).", jobLabels...)
	return d
}

func (d *descs) family(k counterKey) family {
	if f, ok := d.named[k]; ok {
		return f
	}
	switch k.group {
	case infiniband.GroupCountersExt:
		return d.extCounter
	case infiniband.GroupHWCounters:
		return d.hwCounter
	}
	return d.counter
}
