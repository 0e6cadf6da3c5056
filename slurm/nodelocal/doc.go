// Package nodelocal finds the Slurm jobs running on this node from the node
// itself: files written by jobscope's prolog (deploy/slurm), the job cgroups
// slurmstepd creates (cgroup v1 and v2, `job_N` and Slurm 26.05 SLUID names,
// several slurmd per host, Slinky's nesting under a slurmd pod) and
// /proc/PID/cgroup for the processes that use a GPU. It returns typed data
// and holds no Prometheus code; slurmctld is never asked.
//
// It imports nothing of jobscope; tenancy joins its jobs to the GPUs.
package nodelocal
