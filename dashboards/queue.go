package dashboards

// Queue is partitions and the pending queue.
func Queue() Dashboard {
	p := `partition=~"$partition"`
	return Dashboard{
		Name:        "queue",
		Title:       "jobscope / Partitions and queue",
		Description: "What waits, why, for which partition, and how many GPUs each partition has free.",
		Vars: []Var{{Name: "partition", Label: "partition", Multi: true,
			Description: "Slurm partition.",
			Selector:    sel("jobscope_slurm_partition_state"), LabelName: "partition"}},
		Rows: []Row{
			{Title: "Pending", Panels: []Panel{
				{ID: 1, Kind: TimeSeries, Title: "Pending jobs by reason", Unit: UnitCount, Stack: true,
					Description: "Why do pending jobs wait (Resources, Priority, Dependency, QOS limits, ...)? Resources means the cluster is full; limits mean policy holds them.",
					Queries:     []Query{{Expr: "sum by (cluster, reason) (" + slurm("partition, reason", "jobscope_slurm_jobs_pending", p) + ")", Legend: "{{reason}}"}}},
				{ID: 2, Kind: TimeSeries, Title: "Pending jobs and their GPUs by partition", Unit: UnitCount,
					Description: "How many jobs, and how many GPUs they ask for, wait in each partition?",
					Queries: []Query{
						{Expr: slurm("partition", "jobscope_slurm_jobs", p, `state="pending"`), Legend: "{{partition}} jobs"},
						{Expr: slurm("partition", "jobscope_slurm_jobs_gpus", p, `state="pending"`), Legend: "{{partition}} GPUs requested"},
					}},
				{ID: 3, Kind: TimeSeries, Title: "Jobs submitted versus started", Unit: UnitOpsPerSec,
					Description: "Does the queue drain? Submissions above starts for long means waits grow (jobscope exports no per-job submit time, so this rate stands in for wait time).",
					Queries:     []Query{{Expr: "max by (cluster, event) (rate(" + sel("jobscope_slurm_scheduler_jobs_total", `event=~"submitted|started"`) + "[$__rate_interval]))", Legend: "{{event}}"}}},
				{ID: 4, Kind: TimeSeries, Title: "Pending array tasks", Unit: UnitCount,
					Description: "How many array tasks wait inside array records not yet split (each record counts as one pending job above)?",
					Queries:     []Query{{Expr: slurm("partition", "jobscope_slurm_jobs_pending_array_tasks", p), Legend: "{{partition}}"}}},
			}},
			{Title: "Capacity", Panels: []Panel{
				{ID: 5, Kind: Table, Title: "Free GPUs per partition", Unit: UnitCount,
					Thresholds:  []Step{{0, red}, {1, yellow}, {4, green}},
					Description: "How many GPUs are unallocated on each partition's nodes (a node in several partitions counts in each)? 0 with GPU jobs pending: the partition is exhausted.",
					Queries: []Query{
						{Expr: slurm("partition", "jobscope_slurm_partition_gpus", p) + "\n  - " + slurm("partition", "jobscope_slurm_partition_gpus_allocated", p), Legend: "free"},
						{Expr: slurm("partition", "jobscope_slurm_partition_gpus", p), Legend: "total"},
					}},
				{ID: 6, Kind: TimeSeries, Title: "GPUs allocated per partition", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0),
					Description: "Which share of each partition's GPUs is allocated, over time?",
					Queries: []Query{{Expr: slurm("partition", "jobscope_slurm_partition_gpus_allocated", p) + "\n  / " +
						slurm("partition", "jobscope_slurm_partition_gpus", p) + " > 0", Legend: "{{partition}}"}}},
				{ID: 7, Kind: Table, Title: "Partition state", Unit: UnitCount,
					Description: "Is each partition up, and which is the default? A partition down or drained takes no jobs.",
					Queries:     []Query{{Expr: slurm("partition, state, default", "jobscope_slurm_partition_state", p)}}},
			}},
		},
	}
}
