// Package infiniband reads the kernel's InfiniBand/RDMA sysfs tree
// (/sys/class/infiniband) into typed structs. It has no Prometheus code.
//
// Why not prometheus/procfs's sysfs.InfiniBandClass: it returns an error for
// the whole class when any one file of any port fails to read or parse, so
// node_exporter loses every port of every HCA over one bad file; and it
// reads a fixed list of hw_counters, dropping every counter a newer driver
// adds. Here one unreadable, vanished or "N/A (no PMA)" file costs that one
// value and is reported in the result, every file present in counters/,
// counters_ext/ and hw_counters/ is read, and the counter filter is applied
// before the read, because each counters/ read is a MAD query to the HCA's
// firmware.
//
// It is the infiniband collector's source; the metrics live in
// collectors/infiniband.
//
// May import: the standard library only. No Prometheus code, no other
// jobscope package.
package infiniband
