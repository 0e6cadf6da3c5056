package dashboards

// Scheduler is slurmctld's own load: cycles, backfill, queues, RPCs.
func Scheduler() Dashboard {
	s := func(m string) string { return "max(" + sel(m) + ")" }
	rate := func(by, m string) string {
		return "topk(10, max by (cluster, " + by + ") (rate(" + sel(m) + "[$__rate_interval])))"
	}
	return Dashboard{
		Name:        "scheduler",
		Title:       "jobscope / Scheduler and controller",
		Description: "slurmctld's scheduling cycles, backfill, agent and slurmdbd queues, and RPC load by message type and by user (sdiag).",
		Rows: []Row{
			{Title: "Controller", Panels: []Panel{
				{ID: 1, Kind: Stat, Title: "Controllers answering", Unit: UnitOnOff, Thresholds: upDown, Width: 8, Height: 5,
					Description: "Does each slurmctld (primary and backups) answer its ping?",
					Queries:     []Query{{Expr: slurm("controller, mode", "jobscope_slurm_controller_up"), Legend: "{{controller}} ({{mode}})", Instant: true}}},
				{ID: 2, Kind: TimeSeries, Title: "Agent queue", Unit: UnitCount, Width: 8, Height: 5,
					Thresholds:  []Step{{0, green}, {100, yellow}, {1000, red}},
					Description: "Are outgoing RPCs piling up in slurmctld's agent queue (slurmd unreachable or slow)?",
					Queries:     []Query{{Expr: s("jobscope_slurm_scheduler_agent_queue_size"), Legend: "queued RPCs"}}},
				{ID: 3, Kind: TimeSeries, Title: "slurmdbd queue", Unit: UnitCount, Width: 8, Height: 5,
					Thresholds:  []Step{{0, green}, {1000, yellow}, {10000, red}},
					Description: "Are messages for slurmdbd piling up (slurmdbd or its database down)? Accounting is lost when the queue overflows.",
					Queries:     []Query{{Expr: s("jobscope_slurm_scheduler_dbd_agent_queue_size"), Legend: "queued messages"}}},
				{ID: 4, Kind: TimeSeries, Title: "Threads", Unit: UnitCount,
					Description: "How many server and agent threads does slurmctld use? Server threads near its limit (256 by default) mean RPCs wait.",
					Queries: []Query{
						{Expr: s("jobscope_slurm_scheduler_threads"), Legend: "server threads"},
						{Expr: s("jobscope_slurm_scheduler_agent_threads"), Legend: "agent threads"},
						{Expr: s("jobscope_slurm_scheduler_agents"), Legend: "agents"},
					}},
				{ID: 5, Kind: TimeSeries, Title: "Job events", Unit: UnitOpsPerSec,
					Description: "How fast are jobs submitted, started, completed, cancelled and failed (by Slurm)?",
					Queries:     []Query{{Expr: "max by (cluster, event) (rate(" + sel("jobscope_slurm_scheduler_jobs_total") + "[$__rate_interval]))", Legend: "{{event}}"}}},
			}},
			{Title: "Scheduling", Panels: []Panel{
				{ID: 6, Kind: TimeSeries, Title: "Main scheduler cycle", Unit: UnitSeconds,
					Thresholds:  []Step{{0, green}, {1, yellow}, {5, red}},
					Description: "How long does the main scheduling cycle take (last, mean, max since the statistics were reset)? Long cycles delay every start.",
					Queries: []Query{
						{Expr: s("jobscope_slurm_scheduler_cycle_last_seconds"), Legend: "last"},
						{Expr: s("jobscope_slurm_scheduler_cycle_mean_seconds"), Legend: "mean"},
						{Expr: s("jobscope_slurm_scheduler_cycle_max_seconds"), Legend: "max"},
					}},
				{ID: 7, Kind: TimeSeries, Title: "Backfill cycle", Unit: UnitSeconds,
					Description: "How long does a backfill cycle take (last, mean, max)? A cycle longer than bf_interval means backfill never finishes its queue.",
					Queries: []Query{
						{Expr: s("jobscope_slurm_backfill_cycle_last_seconds"), Legend: "last"},
						{Expr: s("jobscope_slurm_backfill_cycle_mean_seconds"), Legend: "mean"},
						{Expr: s("jobscope_slurm_backfill_cycle_max_seconds"), Legend: "max"},
					}},
				{ID: 8, Kind: TimeSeries, Title: "Scheduler depth", Unit: UnitCount,
					Description: "How many jobs do the schedulers consider per cycle, and how many did backfill try? Depth far below the queue length means jobs are never looked at.",
					Queries: []Query{
						{Expr: s("jobscope_slurm_scheduler_queue_length"), Legend: "main queue"},
						{Expr: s("jobscope_slurm_scheduler_cycle_mean_depth"), Legend: "main mean depth"},
						{Expr: s("jobscope_slurm_backfill_queue_length"), Legend: "backfill queue"},
						{Expr: s("jobscope_slurm_backfill_last_depth"), Legend: "backfill depth"},
						{Expr: s("jobscope_slurm_backfill_last_depth_try"), Legend: "backfill tried"},
					}},
				{ID: 9, Kind: TimeSeries, Title: "Jobs started by backfill", Unit: UnitOpsPerSec,
					Description: "How many jobs per second does backfill start (it fills the gaps the main scheduler leaves)?",
					Queries:     []Query{{Expr: "max by (cluster, kind) (rate(" + sel("jobscope_slurm_backfill_jobs_total") + "[$__rate_interval]))", Legend: "{{kind}}"}}},
			}},
			{Title: "RPCs", Panels: []Panel{
				{ID: 10, Kind: TimeSeries, Title: "RPC rate by type", Unit: UnitOpsPerSec,
					Description: "Which RPC types load slurmctld most (top 10)?",
					Queries:     []Query{{Expr: rate("type", "jobscope_slurm_rpc_calls_total"), Legend: "{{type}}"}}},
				{ID: 11, Kind: TimeSeries, Title: "RPC time by type", Unit: UnitSeconds,
					Description: "Which RPC types take slurmctld's time (seconds spent per second, top 10)?",
					Queries:     []Query{{Expr: rate("type", "jobscope_slurm_rpc_duration_seconds_total"), Legend: "{{type}}"}}},
				{ID: 12, Kind: TimeSeries, Title: "RPC rate by user", Unit: UnitOpsPerSec,
					Description: "Which users send slurmctld the most RPCs (a script polling squeue in a loop, top 10)?",
					Queries:     []Query{{Expr: rate("user", "jobscope_slurm_rpc_user_calls_total"), Legend: "{{user}}"}}},
				{ID: 13, Kind: TimeSeries, Title: "RPC time by user", Unit: UnitSeconds,
					Description: "Whose RPCs take slurmctld's time (seconds spent per second, top 10)?",
					Queries:     []Query{{Expr: rate("user", "jobscope_slurm_rpc_user_duration_seconds_total"), Legend: "{{user}}"}}},
			}},
		},
	}
}
