package dashboards

import "strconv"

// Queue is partitions and the pending queue.
func Queue() Dashboard {
	p := `partition=~"$partition"`
	return Dashboard{
		Name:        "queue",
		Title:       "jobscope / Partitions and queue",
		Description: "What waits, why and how long, for which partition, and how many GPUs each partition has free.",
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
				{ID: 3, Kind: TimeSeries, Title: "Queue wait of jobs that started, p50 and p95", Unit: UnitSeconds,
					Description: "How long did the jobs that started wait, from submit to start, per partition? Counts the starts seen since the exporter last started; time held by dependencies, holds or --begin counts. No line: no job started in the interval; widen the time range for a smoother line.",
					Queries: []Query{
						{Expr: waitQuantile(0.5, p), Legend: "{{partition}} p50"},
						{Expr: waitQuantile(0.95, p), Legend: "{{partition}} p95"},
					}},
				{ID: 8, Kind: TimeSeries, Title: "Oldest pending job's age", Unit: UnitSeconds,
					Description: "How long has the oldest job still pending in each partition waited since submit? Growing steadily: something holds it (limits, dependency, a partition too small for it); see pending jobs by reason. A job pending in several partitions shows under their joined names (a,b).",
					Queries:     []Query{{Expr: "time() - " + slurm("partition", "jobscope_slurm_jobs_pending_oldest_submit_timestamp_seconds", p), Legend: "{{partition}}"}}},
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

// waitQuantile is the q-quantile of the queue wait of the jobs that started
// in each rate interval, per partition. max, not sum,
// over exporter replicas (they count the same starts), after rate (their
// counters differ when they started at different times).
func waitQuantile(q float64, partition string) string {
	return "histogram_quantile(" + strconv.FormatFloat(q, 'g', -1, 64) + ", max by (cluster, partition, le) (rate(" +
		sel("jobscope_slurm_jobs_queue_wait_seconds_bucket", partition) + "[$__rate_interval])))"
}
