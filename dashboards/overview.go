package dashboards

// Overview is the cluster at a glance: what on-call opens first.
func Overview() Dashboard {
	return Dashboard{
		Name:        "overview",
		Title:       "jobscope / Cluster overview",
		Description: "Nodes as sinfo shows them, GPUs held versus busy, jobs running and pending, the biggest idle holders, and the alerts firing.",
		Rows: []Row{{Title: "Cluster", Panels: []Panel{
			{ID: 1, Kind: Stat, Title: "Nodes by state (sinfo)", Unit: UnitCount, Width: 16, Height: 5,
				Description: "How many nodes are in each state, in the words `sinfo -o %T` prints (drained, draining, down, idle, mixed, allocated, ...)?",
				Queries:     []Query{{Expr: slurm("state", "jobscope_slurm_nodes_sinfo_state") + " > 0", Legend: "{{state}}", Instant: true}}},
			{ID: 2, Kind: Stat, Title: "Nodes not responding", Unit: UnitCount, Width: 4, Height: 5, Thresholds: zeroOK,
				Description: "How many nodes does slurmctld mark not responding (sinfo's `*`)? Above 0: check slurmd and the network on them.",
				Queries:     []Query{{Expr: "max(" + sel("jobscope_slurm_nodes_not_responding") + ")", Instant: true}}},
			{ID: 3, Kind: Stat, Title: "slurmctld reachable", Unit: UnitOnOff, Width: 4, Height: 5, Thresholds: upDown,
				Description: "Did jobscope slurm's last poll reach slurmctld? Off: every Slurm panel is stale.",
				Queries:     []Query{{Expr: "max(" + sel("jobscope_slurm_up") + ")", Instant: true}}},
			{ID: 4, Kind: TimeSeries, Title: "GPUs: configured, allocated, held, busy", Unit: UnitCount,
				Description: "How many GPUs does Slurm have and allocate, how many does a job or pod hold on the nodes, and how many of those are actually busy (activity > 5%)? The gap between held and busy is idle capacity.",
				Queries: []Query{
					{Expr: "sum(" + slurm("node, type", "jobscope_slurm_node_gpus") + ")", Legend: "configured (Slurm)"},
					{Expr: "sum(" + slurm("node, type", "jobscope_slurm_node_gpus_allocated") + ")", Legend: "allocated (Slurm)"},
					{Expr: "count(max by (cluster, uuid) (" + sel("jobscope_gpu_tenant_info") + "))", Legend: "held (agents)"},
					{Expr: "sum(" + sel("gpu:jobscope_gpu_busy:bool") + " and on (cluster, uuid) " + sel("jobscope_gpu_tenant_info") + ")", Legend: "held and busy"},
				}},
			{ID: 5, Kind: TimeSeries, Title: "Jobs running and pending", Unit: UnitCount,
				Description: "How many jobs run and wait, cluster-wide? A growing pending line with flat running means the cluster is full or blocked.",
				Queries:     []Query{{Expr: "sum by (state) (" + slurm("partition, state", "jobscope_slurm_jobs", `state=~"running|pending"`) + ")", Legend: "{{state}}"}}},
			{ID: 6, Kind: Table, Title: "Top idle GPU holders", Unit: UnitCount, Links: []Link{jobLink},
				Description: "Which running jobs hold the most GPUs that are not busy right now? Open a job for its drill-down.",
				Queries:     []Query{{Expr: "topk(10,\n  " + sel("job:jobscope_gpus_held:count") + "\n  - " + sel("job:jobscope_gpus_busy:sum") + "\n)"}}},
			{ID: 7, Kind: Table, Title: "Firing alerts", Unit: UnitCount,
				Description: "Which jobscope alerts fire on this cluster now (Prometheus' ALERTS series)? Each has a runbook in alerts/.",
				Queries:     []Query{{Expr: "count by (alertname, severity) (ALERTS{alertstate=\"firing\", " + C + "})"}}},
		}}},
	}
}
