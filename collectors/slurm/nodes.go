package slurm

import (
	"context"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
)

type nodesCollector struct {
	deps       Deps
	byState    *prometheus.Desc
	info       *prometheus.Desc
	state      *prometheus.Desc
	flag       *prometheus.Desc
	reason     *prometheus.Desc
	reasonTime *prometheus.Desc
	cpus       *prometheus.Desc
	cpusAlloc  *prometheus.Desc
	cpuLoad    *prometheus.Desc
	mem        *prometheus.Desc
	memAlloc   *prometheus.Desc
	memFree    *prometheus.Desc
	gpus       *prometheus.Desc
	gpusAlloc  *prometheus.Desc
}

func newNodesCollector(d Deps) (collectors.Collector, error) {
	return &nodesCollector{
		deps: d,
		byState: desc("", "nodes",
			"Number of nodes by base state (idle, mixed, allocated, down, ...); flags such as drain are in slurm_nodes_flagged.", "state"),
		info: desc("node", "info",
			"Node metadata: host, address, slurmd version, partitions and features (comma-separated).",
			"node", "hostname", "address", "slurmd_version", "partitions", "features"),
		state: desc("node", "state",
			"Base state of each node (always 1; the state is the label).", "node", "state"),
		flag: desc("node", "state_flag",
			"State flags set on each node, kept apart from the base state (drain, not_responding, completing, maintenance, ...).", "node", "flag"),
		reason: desc("node", "reason_info",
			"Why a node is drained or down, for nodes that have a reason.", "node", "reason"),
		reasonTime: desc("node", "reason_timestamp_seconds",
			"When the node's reason was set, as a Unix time.", "node"),
		cpus: desc("node", "cpus",
			"CPUs configured on the node.", "node"),
		cpusAlloc: desc("node", "cpus_allocated",
			"CPUs allocated to jobs on the node.", "node"),
		cpuLoad: desc("node", "cpu_load",
			"Load average of the node as slurmd reports it.", "node"),
		mem: desc("node", "memory_bytes",
			"Real memory configured on the node.", "node"),
		memAlloc: desc("node", "memory_allocated_bytes",
			"Memory allocated to jobs on the node.", "node"),
		memFree: desc("node", "memory_free_bytes",
			"Free memory on the node as slurmd reports it.", "node"),
		gpus: desc("node", "gpus",
			"GPUs configured on the node, by GPU type (empty when untyped).", "node", "type"),
		gpusAlloc: desc("node", "gpus_allocated",
			"GPUs allocated to jobs on the node, by GPU type.", "node", "type"),
	}, nil
}

func (c *nodesCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	snap := c.deps.Snapshot()
	if !c.deps.fresh(snap, ResourceNodes) {
		return errStale(ResourceNodes)
	}
	e := collectors.NewEmitter(ch)
	byState := map[string]int{}
	for _, n := range snap.Nodes {
		state := lower(n.State)
		byState[state]++
		e.Gauge(c.info, 1, n.Name, n.Hostname, n.Address, n.SlurmdVersion,
			strings.Join(n.Partitions, ","), strings.Join(n.Features, ","))
		e.Gauge(c.state, 1, n.Name, state)
		for _, f := range n.Flags {
			e.Gauge(c.flag, 1, n.Name, lower(f))
		}
		if n.Reason != "" {
			e.Gauge(c.reason, 1, n.Name, n.Reason)
			if !n.ReasonTime.IsZero() {
				e.Gauge(c.reasonTime, unixSeconds(n.ReasonTime), n.Name)
			}
		}
		e.Gauge(c.cpus, float64(n.CPUs), n.Name)
		e.Gauge(c.cpusAlloc, float64(n.AllocCPUs), n.Name)
		e.Gauge(c.cpuLoad, n.CPULoad, n.Name)
		e.Gauge(c.mem, float64(n.RealMemoryBytes), n.Name)
		e.Gauge(c.memAlloc, float64(n.AllocMemoryBytes), n.Name)
		e.Gauge(c.memFree, float64(n.FreeMemoryBytes), n.Name)

		total, used := gpuCounts(n.GRES), gpuCounts(n.GRESUsed)
		// Every configured type gets an allocated series, 0 included, so a
		// free GPU node is visible as such; a used type Slurm did not list
		// as configured is still reported rather than lost.
		for _, t := range sortedKeys(total, used) {
			if total[t] == 0 && used[t] == 0 {
				continue // "gpu:0" on a CPU node is not a GPU type
			}
			e.Gauge(c.gpus, float64(total[t]), n.Name, t)
			e.Gauge(c.gpusAlloc, float64(used[t]), n.Name, t)
		}
	}
	for _, s := range sortedKeys(byState) {
		e.Gauge(c.byState, float64(byState[s]), s)
	}
	return e.Err()
}

// sortedKeys returns the union of the maps' keys, sorted, so output order is
// stable for golden tests and diffs.
func sortedKeys[V any](maps ...map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
