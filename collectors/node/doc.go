// Package node holds the collectors of `jobscope node`, the agent that runs
// on every GPU node: per-GPU telemetry keyed by GPU UUID, one join series
// per GPU naming the Slurm job or Kubernetes pod that holds it, and per-job
// node-local counters. The collectors only map typed data to metrics; the
// data comes from the sources outside collectors/.
//
// Deps is what every collector of the node command gets (host paths, the
// local Slurm jobs, the shared GPU reading and tenancy view); other node
// collectors, such as collectors/infiniband, register into the same Set
// with their own Register(set *collectors.Set[node.Deps]).
//
// May import: client_golang, jobscope/collectors (the framework) and the
// sources it maps: jobscope/gpu, jobscope/tenancy, jobscope/slurm/nodelocal.
package node
