package dashboards

// Self is jobscope's own health.
func Self() Dashboard {
	return Dashboard{
		Name:        "self",
		Title:       "jobscope / jobscope itself",
		Description: "Whether both commands are scraped and up, how long their collectors, polls and scrapes take, and whether each source (slurmctld resources, GPU backends, tenant sources) is read.",
		Rows: []Row{
			{Title: "Targets", Panels: []Panel{
				{ID: 1, Kind: Table, Title: "Targets up", Unit: UnitOnOff, Thresholds: upDown,
					Description: "Is every jobscope target (jobscope slurm and each node agent) scraped successfully? A target that served jobscope in the last day and is down now lost its data.",
					Queries: []Query{{Expr: "max by (cluster, job, instance) (\n  " + sel("up") + "\n  and on (cluster, job, instance) present_over_time(" +
						sel("jobscope_scrape_collector_success") + "[1d])\n)"}}},
				{ID: 2, Kind: TimeSeries, Title: "Scrape duration", Unit: UnitSeconds,
					Description: "How long does Prometheus take to scrape each jobscope target? Close to the scrape timeout, scrapes fail.",
					Queries: []Query{{Expr: sel("scrape_duration_seconds") + "\n  and on (cluster, job, instance) " + sel("jobscope_scrape_collector_success"),
						Legend: "{{job}} {{instance}}"}}},
				{ID: 3, Kind: Table, Title: "Collectors", Unit: UnitOnOff, Thresholds: upDown,
					Description: "Did each collector of each target get all its data in the last scrape?",
					Queries:     []Query{{Expr: "min by (cluster, job, instance, collector) (" + sel("jobscope_scrape_collector_success") + ")"}}},
				{ID: 4, Kind: TimeSeries, Title: "Collector durations", Unit: UnitSeconds,
					Description: "Which collector makes a scrape slow?",
					Queries:     []Query{{Expr: "max by (cluster, job, collector) (" + sel("jobscope_scrape_collector_duration_seconds") + ")", Legend: "{{job}} {{collector}}"}}},
			}},
			{Title: "jobscope slurm", Panels: []Panel{
				{ID: 5, Kind: Table, Title: "Slurm", Unit: UnitCount,
					Description: "Which Slurm release and API version does jobscope slurm talk to, through which source (rest or cli)?",
					Queries:     []Query{{Expr: "max by (cluster, slurm_cluster, release, api_version, source) (" + sel("jobscope_slurm_info") + ")"}}},
				{ID: 6, Kind: Table, Title: "Poll status", Unit: UnitOnOff, Thresholds: upDown,
					Description: "Did the last fetch of each Slurm resource (jobs, nodes, partitions, diag, shares, ...) succeed, and can this Slurm give it at all?",
					Queries: []Query{
						{Expr: "min by (cluster, resource) (" + sel("jobscope_slurm_poll_success") + ")", Legend: "success"},
						{Expr: "min by (cluster, resource) (" + sel("jobscope_slurm_poll_supported") + ")", Legend: "supported"},
					}},
				{ID: 7, Kind: TimeSeries, Title: "Poll duration", Unit: UnitSeconds,
					Description: "How long does each fetch from slurmctld take? Growing durations load slurmctld and age the data.",
					Queries:     []Query{{Expr: "max by (cluster, resource) (" + sel("jobscope_slurm_poll_duration_seconds") + ")", Legend: "{{resource}}"}}},
				{ID: 8, Kind: TimeSeries, Title: "Age of the data", Unit: UnitSeconds,
					Thresholds:  []Step{{0, green}, {120, yellow}, {600, red}},
					Description: "How old is the last successful fetch of each resource? Old data means the Slurm panels show the past.",
					Queries:     []Query{{Expr: "time() - max by (cluster, resource) (" + sel("jobscope_slurm_poll_last_success_timestamp_seconds") + ")", Legend: "{{resource}}"}}},
			}},
			{Title: "jobscope node", Panels: []Panel{
				{ID: 9, Kind: Table, Title: "GPU backends", Unit: UnitOnOff, Thresholds: upDown, Links: []Link{nodeLink},
					Description: "Can each node agent read its GPUs (nvml driver loaded, or the DCGM exporter answering)?",
					Queries:     []Query{{Expr: "max by (cluster, node, backend) (" + agentNode(sel("jobscope_gpu_backend_up")) + ")"}}},
				{ID: 10, Kind: Table, Title: "Tenant sources", Unit: UnitOnOff, Thresholds: upDown, Links: []Link{nodeLink},
					Description: "Can each node agent read the sources that say who holds a GPU (prolog files, cgroups, GPU processes, kubelet)? Without them GPUs show no job.",
					Queries:     []Query{{Expr: "max by (cluster, node, source) (" + agentNode(sel("jobscope_tenant_source_up")) + ")"}}},
				{ID: 11, Kind: Stat, Title: "Stale prolog files", Unit: UnitCount, Thresholds: []Step{{0, green}, {1, yellow}},
					Description: "How many prolog files name a job that has ended (the epilog did not run)? They are ignored; clean them up.",
					Queries:     []Query{{Expr: "sum(" + sel("jobscope_tenant_prolog_stale_files") + ")", Instant: true}}},
			}},
		},
	}
}
