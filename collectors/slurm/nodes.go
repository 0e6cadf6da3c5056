package slurm

import (
	"slices"
	"sort"
	"strings"

	"jobscope/collectors"
	"jobscope/slurm"
)

type nodesCollector struct {
	byState    *collectors.FamilyDesc
	bySinfo    *collectors.FamilyDesc
	noResp     *collectors.FamilyDesc
	info       *collectors.FamilyDesc
	state      *collectors.FamilyDesc
	flag       *collectors.FamilyDesc
	reason     *collectors.FamilyDesc
	reasonTime *collectors.FamilyDesc
	cpus       *collectors.FamilyDesc
	cpusAlloc  *collectors.FamilyDesc
	cpuLoad    *collectors.FamilyDesc
	mem        *collectors.FamilyDesc
	memAlloc   *collectors.FamilyDesc
	memFree    *collectors.FamilyDesc
	gpus       *collectors.FamilyDesc
	gpusAlloc  *collectors.FamilyDesc
}

func newNodesCollector(d Deps) (collectors.Collector, error) {
	c := &nodesCollector{
		byState: desc("", "nodes",
			"Number of nodes by base state (idle, mixed, allocated, down, ...); flags such as drain are in jobscope_slurm_node_state_flag.", "state"),
		bySinfo: desc("", "nodes_sinfo_state",
			"Number of nodes by the state sinfo's %T prints for them (drained, draining, idle, mixed, down, maint, ...), lower case without sinfo's suffix; each node counts once.", "state"),
		noResp: desc("", "nodes_not_responding",
			"Number of nodes slurmctld marks not responding (sinfo's * suffix, unless another suffix takes its place)."),
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
	}
	return newSnapshotCollector(d, c.build, ResourceNodes), nil
}

func (c *nodesCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourceNodes) {
		return errStale(ResourceNodes)
	}
	byState := map[string]int{}
	// The states an on-call asks about are always there, 0 included, so
	// "how many nodes are drained" reads 0 rather than no data.
	bySinfo := map[string]int{}
	for _, s := range alwaysSinfoStates {
		bySinfo[s] = 0
	}
	noResp := 0
	for _, n := range snap.Nodes {
		state := lower(n.State)
		byState[state]++
		sinfo, _ := slurm.SinfoState(n)
		bySinfo[sinfo]++
		if slices.Contains(n.Flags, "NOT_RESPONDING") {
			noResp++
		}
		b.Add(c.info, 1, n.Name, n.Hostname, n.Address, n.SlurmdVersion,
			strings.Join(n.Partitions, ","), strings.Join(n.Features, ","))
		b.Add(c.state, 1, n.Name, state)
		for _, f := range n.Flags {
			b.Add(c.flag, 1, n.Name, lower(f))
		}
		if n.Reason != "" {
			b.Add(c.reason, 1, n.Name, n.Reason)
			if !n.ReasonTime.IsZero() {
				b.Add(c.reasonTime, unixSeconds(n.ReasonTime), n.Name)
			}
		}
		b.Add(c.cpus, float64(n.CPUs), n.Name)
		b.Add(c.cpusAlloc, float64(n.AllocCPUs), n.Name)
		b.Add(c.cpuLoad, n.CPULoad, n.Name)
		b.Add(c.mem, float64(n.RealMemoryBytes), n.Name)
		b.Add(c.memAlloc, float64(n.AllocMemoryBytes), n.Name)
		b.Add(c.memFree, float64(n.FreeMemoryBytes), n.Name)

		total, used := gpuCounts(n.GRES), gpuCounts(n.GRESUsed)
		// Every configured type gets an allocated series, 0 included, so a
		// free GPU node is visible as such; a used type Slurm did not list
		// as configured is still reported rather than lost.
		for _, t := range sortedKeys(total, used) {
			if total[t] == 0 && used[t] == 0 {
				continue // "gpu:0" on a CPU node is not a GPU type
			}
			b.Add(c.gpus, float64(total[t]), n.Name, t)
			b.Add(c.gpusAlloc, float64(used[t]), n.Name, t)
		}
	}
	for _, s := range sortedKeys(byState) {
		b.Add(c.byState, float64(byState[s]), s)
	}
	for _, s := range sortedKeys(bySinfo) {
		b.Add(c.bySinfo, float64(bySinfo[s]), s)
	}
	b.Add(c.noResp, float64(noResp))
	return nil
}

// alwaysSinfoStates are exported even when no node is in them.
var alwaysSinfoStates = []string{"allocated", "completing", "down", "drained", "draining", "fail", "failing", "idle", "mixed"}

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
