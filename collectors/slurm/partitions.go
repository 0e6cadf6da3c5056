package slurm

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
)

type partitionsCollector struct {
	deps      Deps
	state     *prometheus.Desc
	nodes     *prometheus.Desc
	cpus      *prometheus.Desc
	cpusAlloc *prometheus.Desc
	gpus      *prometheus.Desc
	gpusAlloc *prometheus.Desc
	maxTime   *prometheus.Desc
}

func newPartitionsCollector(d Deps) (collectors.Collector, error) {
	return &partitionsCollector{
		deps: d,
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
	}, nil
}

type partitionTotals struct {
	nodesByState    map[string]int
	cpusAlloc       uint64
	gpus, gpusAlloc uint64
}

func (c *partitionsCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	snap := c.deps.Snapshot()
	if !c.deps.fresh(snap, ResourcePartitions) {
		return errStale(ResourcePartitions)
	}
	// Allocation comes from the nodes; partitions only carry totals.
	totals := map[string]*partitionTotals{}
	for _, p := range snap.Partitions {
		totals[p.Name] = &partitionTotals{nodesByState: map[string]int{}}
	}
	haveNodes := c.deps.fresh(snap, ResourceNodes)
	if haveNodes {
		for _, n := range snap.Nodes {
			for _, pn := range n.Partitions {
				t, ok := totals[pn]
				if !ok {
					continue
				}
				t.nodesByState[lower(n.State)]++
				t.cpusAlloc += uint64(n.AllocCPUs)
				for _, v := range gpuCounts(n.GRES) {
					t.gpus += v
				}
				for _, v := range gpuCounts(n.GRESUsed) {
					t.gpusAlloc += v
				}
			}
		}
	}

	e := collectors.NewEmitter(ch)
	for _, p := range snap.Partitions {
		def := "false"
		if p.Default {
			def = "true"
		}
		e.Gauge(c.state, 1, p.Name, lower(p.State), def)
		e.Gauge(c.cpus, float64(p.TotalCPUs), p.Name)
		if p.MaxTime > 0 {
			e.Gauge(c.maxTime, p.MaxTime.Seconds(), p.Name)
		}
		if !haveNodes {
			continue
		}
		t := totals[p.Name]
		for _, s := range sortedKeys(t.nodesByState) {
			e.Gauge(c.nodes, float64(t.nodesByState[s]), p.Name, s)
		}
		e.Gauge(c.cpusAlloc, float64(t.cpusAlloc), p.Name)
		e.Gauge(c.gpus, float64(t.gpus), p.Name)
		e.Gauge(c.gpusAlloc, float64(t.gpusAlloc), p.Name)
	}
	if !haveNodes {
		if err := e.Err(); err != nil {
			return err
		}
		return errStale(ResourceNodes)
	}
	return e.Err()
}
