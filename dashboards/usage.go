package dashboards

// ownerPanels are the GPU-hours panels of one owner level (user, account,
// partition, k8s_namespace): the recording rules name them <level>:....
func ownerPanels(firstID uint32, level, title string, links []Link) []Panel {
	r := func(name string) string { return sel(level + ":" + name) }
	return []Panel{
		{ID: firstID, Kind: Table, Title: "GPU-hours held and used by " + title + " (1 day)", Unit: UnitGPUHours, Links: links,
			Overrides:   map[string]string{"Value #C": UnitRatio},
			Description: "Over the last day, how many GPU-hours did each " + title + " hold, how many of them were busy, and which share sat idle?",
			Queries: []Query{
				{Expr: r("jobscope_gpu_hours_held:sum_over_time1d"), Legend: "held"},
				{Expr: r("jobscope_gpu_hours_used:sum_over_time1d"), Legend: "used"},
				{Expr: r("jobscope_gpus_idle:ratio1d"), Legend: "idle share"},
			}},
		{ID: firstID + 1, Kind: TimeSeries, Title: "GPUs held and busy by " + title, Unit: UnitCount,
			Description: "How many GPUs does each " + title + " hold now, and how many of them are busy?",
			Queries: []Query{
				{Expr: r("jobscope_gpus_held:count"), Legend: "{{" + level + "}} held"},
				{Expr: r("jobscope_gpus_busy:sum"), Legend: "{{" + level + "}} busy"},
			}},
		{ID: firstID + 2, Kind: Table, Title: "Top idle " + title + "s (1 day)", Unit: UnitGPUHours, Links: links,
			Description: "Which " + title + "s left the most GPU-hours idle over the last day (held minus used)? Ranking by idle hours, not share, puts the big wasters first.",
			Queries:     []Query{{Expr: "topk(10,\n  " + r("jobscope_gpu_hours_held:sum_over_time1d") + "\n  - " + r("jobscope_gpu_hours_used:sum_over_time1d") + "\n)"}}},
	}
}

// Usage is GPU-hours held versus used per user, account and partition.
func Usage() Dashboard {
	return Dashboard{
		Name:        "usage",
		Title:       "jobscope / Users, accounts and partitions",
		Description: "GPU-hours held versus used, idle share and the biggest wasters, per Slurm user, account and partition; Slurm's fairshare next to it.",
		Rows: []Row{
			{Title: "Users", Panels: append(ownerPanels(1, "user", "user", nil),
				Panel{ID: 4, Kind: Table, Title: "Jobs holding idle GPUs now", Unit: UnitCount, Links: []Link{jobLink},
					Description: "Which running jobs hold GPUs that are not busy right now, and whose are they?",
					Queries:     []Query{{Expr: "topk(20,\n  " + sel("job:jobscope_gpus_held:count") + "\n  - " + sel("job:jobscope_gpus_busy:sum") + "\n)"}}})},
			{Title: "Accounts", Panels: append(ownerPanels(10, "account", "account", nil),
				Panel{ID: 13, Kind: Table, Title: "Fairshare", Unit: UnitRatio,
					Description: "Where does each account and user stand in fairshare (factor 1 = far under its share, 0 = far over), and how much of the cluster has it used?",
					Queries: []Query{
						{Expr: slurm("account, user", "jobscope_slurm_fairshare_factor"), Legend: "factor"},
						{Expr: slurm("account, user", "jobscope_slurm_fairshare_effective_usage"), Legend: "effective usage"},
					}})},
			{Title: "Partitions", Panels: ownerPanels(20, "partition", "partition", nil)},
		},
	}
}
