package slurm

import (
	"jobscope/collectors"
	"jobscope/slurm"
)

type partitionsCollector struct {
	state     *collectors.FamilyDesc
	nodes     *collectors.FamilyDesc
	cpus      *collectors.FamilyDesc
	cpusAlloc *collectors.FamilyDesc
	gpus      *collectors.FamilyDesc
	gpusAlloc *collectors.FamilyDesc
	maxTime   *collectors.FamilyDesc
}

func newPartitionsCollector(d Deps) (collectors.Collector, error) {
	c := &partitionsCollector{
		state: desc("partition", "state",
			"State of each partition (up, down, drain, inactive; always 1) and whether it is the default.", "partition", "state", "default"),
		nodes: desc("partition", "nodes",
			"Nodes in the partition by node base state.", "partition", "state"),
		cpus: desc("partition", "cpus",
			"CPUs in the partition.", "partition"),
		cpusAlloc: desc("partition", "cpus_allocated",
			"CPUs allocated on the partition's nodes (a node in several partitions counts in each).", "partition"),
		gpus: desc("partition", "gpus",
			"GPUs on the partition's nodes.", "partition"),
		gpusAlloc: desc("partition", "gpus_allocated",
			"GPUs allocated on the partition's nodes (a node in several partitions counts in each).", "partition"),
		maxTime: desc("partition", "max_time_seconds",
			"Maximum time limit of jobs in the partition; absent when unlimited.", "partition"),
	}
	return newSnapshotCollector(d, c.build, ResourcePartitions, ResourceNodes), nil
}

type partitionTotals struct {
	nodesByState    map[string]int
	cpusAlloc       uint64
	gpus, gpusAlloc uint64
}

func (c *partitionsCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourcePartitions) {
		return errStale(ResourcePartitions)
	}
	// Allocation comes from the nodes; partitions only carry totals.
	totals := map[string]*partitionTotals{}
	for _, p := range snap.Partitions {
		totals[p.Name] = &partitionTotals{nodesByState: map[string]int{}}
	}
	haveNodes := fresh(ResourceNodes)
	if haveNodes {
		for _, n := range snap.Nodes {
			for _, pn := range n.Partitions {
				t, ok := totals[pn]
				if !ok {
					continue
				}
				t.nodesByState[lower(n.State)]++
				t.cpusAlloc += uint64(n.AllocCPUs)
				t.gpus += slurm.GPUCount(n.GRES)
				t.gpusAlloc += slurm.GPUCount(n.GRESUsed)
			}
		}
	}

	for _, p := range snap.Partitions {
		def := "false"
		if p.Default {
			def = "true"
		}
		b.Add(c.state, 1, p.Name, lower(p.State), def)
		b.Add(c.cpus, float64(p.TotalCPUs), p.Name)
		if p.MaxTime > 0 {
			b.Add(c.maxTime, p.MaxTime.Seconds(), p.Name)
		}
		if !haveNodes {
			continue
		}
		t := totals[p.Name]
		for _, s := range sortedKeys(t.nodesByState) {
			b.Add(c.nodes, float64(t.nodesByState[s]), p.Name, s)
		}
		b.Add(c.cpusAlloc, float64(t.cpusAlloc), p.Name)
		b.Add(c.gpus, float64(t.gpus), p.Name)
		b.Add(c.gpusAlloc, float64(t.gpusAlloc), p.Name)
	}
	if !haveNodes {
		return errStale(ResourceNodes)
	}
	return nil
}
