// Package tenancy decides which Slurm job or Kubernetes pod holds each GPU
// of the node, from the GPU backend's inventory and processes, the node's
// Slurm jobs (slurm/nodelocal: prolog files, cgroups, /proc) and the
// kubelet's pod-resources. Typed data only: collectors/node maps it to the
// join metric and per-job counters, and the InfiniBand collector reads the
// jobs it found.
//
// May import: jobscope/gpu (the model), jobscope/kubelet and
// jobscope/slurm/nodelocal, the three sources it joins, and
// internal/flagvalue: AddFlags registers the flags that configure those
// sources for `jobscope node` and Build wires them. No Prometheus code.
package tenancy
