package dashboards

// Nodes is the per-node view: state, drains, allocation, GPU health.
func Nodes() Dashboard {
	n := `node=~"$node"`
	return Dashboard{
		Name:        "nodes",
		Title:       "jobscope / Nodes",
		Description: "Each node's Slurm state and flags, why and since when it is drained or down, its GPU, CPU and memory allocation, and the health of its GPUs.",
		Vars:        []Var{nodeVar(sel("jobscope_slurm_node_state"))},
		Rows: []Row{
			{Title: "State", Panels: []Panel{
				{ID: 1, Kind: Table, Title: "Base state and flags", Unit: UnitCount, Links: []Link{nodeLink},
					Description: "What base state is each node in, and which flags (drain, not_responding, maintenance, ...) does slurmctld set on it?",
					Queries: []Query{
						{Expr: slurm("node, state", "jobscope_slurm_node_state", n)},
						{Expr: "count by (cluster, node) (" + slurm("node, flag", "jobscope_slurm_node_state_flag", n) + ")", Legend: "flags"},
					}},
				{ID: 2, Kind: Table, Title: "Drain and down reasons, and their age", Unit: UnitSeconds,
					Thresholds: []Step{{0, green}, {86400, yellow}, {7 * 86400, red}}, Links: []Link{nodeLink},
					Description: "Why is each drained or down node out, and for how long? A reason older than a week is a drain someone forgot.",
					Queries: []Query{{Expr: "(time() - " + slurm("node", "jobscope_slurm_node_reason_timestamp_seconds", n) + ")\n  * on (cluster, node) group_left (reason) " +
						slurm("node, reason", "jobscope_slurm_node_reason_info", n)}}},
			}},
			{Title: "Allocation", Panels: []Panel{
				{ID: 3, Kind: TimeSeries, Title: "GPUs allocated", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0), Width: 8,
					Description: "Which share of each node's GPUs has Slurm allocated to jobs?",
					Queries: []Query{{Expr: "sum by (cluster, node) (" + slurm("node, type", "jobscope_slurm_node_gpus_allocated", n) + ")\n  / sum by (cluster, node) (" +
						slurm("node, type", "jobscope_slurm_node_gpus", n) + ")", Legend: "{{node}}"}}},
				{ID: 4, Kind: TimeSeries, Title: "CPUs allocated", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0), Width: 8,
					Description: "Which share of each node's CPUs has Slurm allocated to jobs?",
					Queries:     []Query{{Expr: slurm("node", "jobscope_slurm_node_cpus_allocated", n) + "\n  / " + slurm("node", "jobscope_slurm_node_cpus", n), Legend: "{{node}}"}}},
				{ID: 5, Kind: TimeSeries, Title: "Memory allocated", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0), Width: 8,
					Description: "Which share of each node's memory has Slurm allocated to jobs?",
					Queries:     []Query{{Expr: slurm("node", "jobscope_slurm_node_memory_allocated_bytes", n) + "\n  / " + slurm("node", "jobscope_slurm_node_memory_bytes", n), Legend: "{{node}}"}}},
				{ID: 6, Kind: TimeSeries, Title: "Load per CPU", Unit: UnitCount,
					Description: "Is a node's load (as slurmd reports it) above its CPU count, i.e. oversubscribed?",
					Thresholds:  []Step{{0, green}, {1, yellow}, {1.5, red}},
					Queries:     []Query{{Expr: slurm("node", "jobscope_slurm_node_cpu_load", n) + "\n  / " + slurm("node", "jobscope_slurm_node_cpus", n), Legend: "{{node}}"}}},
				{ID: 7, Kind: TimeSeries, Title: "GPUs busy per node", Unit: UnitCount,
					Description: "How many of each node's GPUs are busy (activity above 5%), as the node agents measure it?",
					Queries:     []Query{{Expr: "sum by (cluster, node) (" + gpuNode(sel("gpu:jobscope_gpu_busy:bool")) + ")", Legend: "{{node}}"}}},
			}},
			{Title: "GPU health", Panels: []Panel{
				{ID: 8, Kind: Table, Title: "GPUs: configured, seen, faulted", Unit: UnitCount, Links: []Link{nodeLink},
					Description: "Does every node show the GPUs Slurm configures, and has any of them had a fault (XID, uncorrectable ECC, failed row remap, lost) in the last 10 minutes?",
					Queries: []Query{
						{Expr: "sum by (cluster, node) (" + slurm("node, type", "jobscope_slurm_node_gpus", n) + ")", Legend: "configured"},
						{Expr: "count by (cluster, node) (" + sel("jobscope_gpu_info", n, `parent_uuid=""`) + ")", Legend: "seen"},
						{Expr: "sum by (cluster, node) (" + gpuNode(sel("gpu:jobscope_gpu_fault:bool")) + ")", Legend: "faulted"},
					}},
			}},
		},
	}
}
