package nodelocal

import "time"

// LocalJob is one Slurm job running on this node.
//
// It is the contract between the node agent and the other node collectors
// (InfiniBand attribution in collectors/infiniband uses it through
// collectors/node.Deps.Jobs): keep fields additive.
type LocalJob struct {
	// ID is the Slurm job ID as printed by squeue ("1234", "1234_7" is never
	// used: array tasks have their own numeric ID on the node). With Slurm
	// 26.05 SLUID cgroup names and no prolog file, it is the SLUID.
	ID string
	// Start is when the job started on this node; zero when unknown.
	Start time.Time
	// GPUUUIDs are the GPUs (or MIG instances) the job holds on this node,
	// "GPU-…"/"MIG-…", sorted. Empty for a CPU-only job.
	GPUUUIDs []string
	// GPUPCIBusIDs are the PCI bus IDs of those GPUs in NVML's form
	// ("00000000:31:00.0"), in the order of GPUUUIDs; "" where unknown.
	GPUPCIBusIDs []string
	// Cgroup is the job's cgroup directory (Job.Cgroup: below the v2 root,
	// or below each v1 controller), for HostReader; "" when the job was
	// only seen through a prolog file or a process.
	Cgroup string
}
