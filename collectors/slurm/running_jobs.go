package slurm

import (
	"strconv"

	"jobscope/collectors"
	"jobscope/slurm"
)

// runningJobsCollector exports one small family per running job. Per-job
// series exist only while a job runs (or is suspended), which bounds their
// number by what the cluster can hold; pending jobs are only aggregated.
type runningJobsCollector struct {
	info         *collectors.FamilyDesc
	start        *collectors.FamilyDesc
	timeLimit    *collectors.FamilyDesc
	cpus         *collectors.FamilyDesc
	memory       *collectors.FamilyDesc
	gpus         *collectors.FamilyDesc
	nodes        *collectors.FamilyDesc
	nodeCPUs     *collectors.FamilyDesc
	nodeMemory   *collectors.FamilyDesc
	nodeGPUs     *collectors.FamilyDesc
	gpuAllocated *collectors.FamilyDesc
}

func newRunningJobsCollector(d Deps) (collectors.Collector, error) {
	c := &runningJobsCollector{
		info: desc("job", "info",
			"One series per running job naming who runs it where; join other jobscope_slurm_job_* series on job_id. Array ids are empty for non-array jobs.",
			"job_id", "name", "user", "account", "partition", "qos", "state", "array_job_id", "array_task_id"),
		start: desc("job", "start_timestamp_seconds",
			"When the running job started, as a Unix time.", "job_id"),
		timeLimit: desc("job", "time_limit_seconds",
			"The running job's time limit; absent when unlimited.", "job_id"),
		cpus: desc("job", "cpus",
			"CPUs allocated to the running job.", "job_id"),
		memory: desc("job", "memory_bytes",
			"Memory allocated to the running job.", "job_id"),
		gpus: desc("job", "gpus",
			"GPUs allocated to the running job.", "job_id"),
		nodes: desc("job", "nodes",
			"Nodes allocated to the running job.", "job_id"),
		nodeCPUs: desc("job", "node_cpus",
			"CPUs the running job holds on each of its nodes.", "job_id", "node"),
		nodeMemory: desc("job", "node_memory_bytes",
			"Memory the running job holds on each of its nodes.", "job_id", "node"),
		nodeGPUs: desc("job", "node_gpus",
			"GPUs the running job holds on each of its nodes, by GPU type.", "job_id", "node", "type"),
		gpuAllocated: desc("job", "gpu_allocated",
			"One series per GPU a running job holds: Slurm's GRES index of the GPU on that node. Slurm's index may differ from NVML's; the node agent maps it to a GPU UUID.",
			"job_id", "node", "gres_index", "type"),
	}
	return newSnapshotCollector(d, c.build, ResourceJobs), nil
}

// holdsResources is true for jobs whose allocation is live.
func holdsResources(j *slurm.Job) bool {
	return j.State == "RUNNING" || j.State == "SUSPENDED"
}

func (c *runningJobsCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourceJobs) {
		return errStale(ResourceJobs)
	}
	for i := range snap.Jobs {
		j := &snap.Jobs[i]
		if !holdsResources(j) {
			continue
		}
		id := strconv.FormatUint(uint64(j.ID), 10)
		arrayJob, arrayTask := "", ""
		if j.ArrayJobID != 0 && j.ArrayTaskID >= 0 {
			arrayJob = strconv.FormatUint(uint64(j.ArrayJobID), 10)
			arrayTask = strconv.FormatInt(j.ArrayTaskID, 10)
		}
		b.Add(c.info, 1, id, j.Name, j.User, j.Account, j.Partition, j.QOS, lower(j.State), arrayJob, arrayTask)
		if !j.StartTime.IsZero() {
			b.Add(c.start, unixSeconds(j.StartTime), id)
		}
		if j.TimeLimit > 0 {
			b.Add(c.timeLimit, j.TimeLimit.Seconds(), id)
		}
		b.Add(c.cpus, float64(j.CPUs), id)
		b.Add(c.memory, float64(j.MemoryBytes), id)
		b.Add(c.gpus, float64(j.GPUs), id)
		b.Add(c.nodes, float64(j.NodeCount), id)
		for _, a := range j.Alloc {
			b.Add(c.nodeCPUs, float64(a.CPUs), id, a.Node)
			b.Add(c.nodeMemory, float64(a.MemoryBytes), id, a.Node)
			counts := gpuCounts(a.GRES)
			for _, t := range sortedKeys(counts) {
				b.Add(c.nodeGPUs, float64(counts[t]), id, a.Node, t)
			}
			for _, g := range a.GRES {
				if g.Name != "gpu" {
					continue
				}
				for _, idx := range g.Indices {
					b.Add(c.gpuAllocated, 1, id, a.Node, strconv.Itoa(idx), g.Type)
				}
			}
		}
	}
	return nil
}
