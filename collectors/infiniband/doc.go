// Package infiniband is the InfiniBand / RDMA collector of `jobscope node`.
// It takes every port of every RDMA device as the infiniband source reads
// it from sysfs and maps it to jobscope_infiniband_* metrics: link state,
// rate and width against an expected link, every counters/, counters_ext/
// and hw_counters/ file with data counters in octets, saturation of
// fixed-width PMA counters, and per-job traffic for the Slurm jobs on the
// node.
//
// Counters are kept across scrapes: a decrease is a reset, counted, and the
// exported _total series continue from where they were, so they stay
// monotonic through perfquery -R, driver reloads and firmware resets.
//
// The source package jobscope/infiniband has the same name as this one;
// here "infiniband." always means the source.
//
// May import: client_golang, jobscope/collectors (the framework),
// jobscope/collectors/node (for Deps, the node command's collector
// dependencies it registers with) and jobscope/infiniband (the sysfs
// reader).
package infiniband
