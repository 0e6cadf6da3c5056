package dashboards

// Panel ids of the job drill-down that Open OnDemand's Active Jobs app
// embeds (dashboard uid jobscope-job; variables cluster, node, job_id).
// They must never change: sites' OnDemand cluster configs name them.
const (
	JobPanelCPU    = 20
	JobPanelMemory = 21
	JobPanelGPU    = 10
)

// Job is the drill-down of one Slurm job.
func Job() Dashboard {
	nj := []string{`job_id="$job_id"`}
	jn := append(nj, `node=~"$node"`)
	return Dashboard{
		Name:        "job",
		Title:       "jobscope / Job",
		Description: "One Slurm job: who runs it where, what its GPUs, CPUs and memory do, its InfiniBand traffic, how evenly its nodes work, and the faults it hit. Open OnDemand embeds its CPU, memory and GPU panels.",
		Vars: []Var{
			{Name: "job_id", Label: "job ID", Custom: true,
				Description: "Slurm job ID (running jobs are listed; type any other).",
				Selector:    sel("jobscope_slurm_job_info"), LabelName: "job_id"},
			nodeVar(`{__name__=~"jobscope_slurm_job_node_cpus|jobscope_gpu_tenant_info", ` + C + `, job_id="$job_id"}`),
		},
		Rows: []Row{
			{Title: "Identity", Panels: []Panel{
				{ID: 1, Kind: Table, Title: "Job", Unit: UnitCount, Width: 24, Height: 4,
					Description: "Whose job is it, in which account, partition and QOS, under which name and array?",
					Queries: []Query{{Expr: "max by (cluster, job_id, user, account, partition, qos, name, state, array_job_id, array_task_id) (" +
						sel("jobscope_slurm_job_info", nj...) + ")"}}},
				{ID: 2, Kind: Stat, Title: "Running for", Unit: UnitSeconds, Width: 6, Height: 4,
					Description: "How long has the job been running (Slurm's start time, else the node agent's)?",
					Queries: []Query{{Expr: "time() - min(" + sel("jobscope_slurm_job_start_timestamp_seconds", nj...) + " or " +
						sel("jobscope_job_start_timestamp_seconds", nj...) + ")", Instant: true}}},
				{ID: 3, Kind: Stat, Title: "Time left", Unit: UnitSeconds, Width: 6, Height: 4,
					Thresholds:  []Step{{0, red}, {600, yellow}, {3600, green}},
					Description: "How long until the job hits its time limit (absent when unlimited)? Under 10 minutes: it is about to be killed, checkpoint now.",
					Queries: []Query{{Expr: "max(" + sel("jobscope_slurm_job_time_limit_seconds", nj...) + ")\n  - (time() - max(" +
						sel("jobscope_slurm_job_start_timestamp_seconds", nj...) + "))", Instant: true}}},
				{ID: 4, Kind: Stat, Title: "Allocation", Unit: UnitCount, Width: 12, Height: 4,
					Description: "How many nodes, CPUs and GPUs did Slurm allocate to the job?",
					Queries: []Query{
						{Expr: "max(" + sel("jobscope_slurm_job_nodes", nj...) + ")", Legend: "nodes", Instant: true},
						{Expr: "max(" + sel("jobscope_slurm_job_cpus", nj...) + ")", Legend: "CPUs", Instant: true},
						{Expr: "max(" + sel("jobscope_slurm_job_gpus", nj...) + ")", Legend: "GPUs", Instant: true},
					}},
			}},
			{Title: "GPUs", Panels: []Panel{
				{ID: JobPanelGPU, Kind: TimeSeries, Title: "GPU utilisation", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0),
					Description: "Is each of the job's GPUs running kernels, and how much of the time? Flat at 0: the job holds GPUs it does not use.",
					Queries:     []Query{{Expr: jobGPU("jobscope_gpu_utilization_ratio"), Legend: "{{node}} GPU {{gpu}}"}}},
				{ID: 11, Kind: TimeSeries, Title: "SM and tensor activity", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0),
					Description: "How much of each GPU's SMs and tensor cores does the job keep busy (DCGM profiling, or GPM on Hopper and later)? High utilisation with low SM activity: small kernels or a data-loading bottleneck.",
					Queries: []Query{
						{Expr: jobGPU("jobscope_gpu_sm_active_ratio"), Legend: "SM {{node}} GPU {{gpu}}"},
						{Expr: jobGPU("jobscope_gpu_tensor_active_ratio"), Legend: "tensor {{node}} GPU {{gpu}}"},
					}},
				{ID: 12, Kind: TimeSeries, Title: "GPU memory used", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0), Thresholds: nearFull,
					Description: "How full is each of the job's GPUs' memory? Near 100%: the next allocation fails with out-of-memory.",
					Queries: []Query{{Expr: "(" + jobGPU("jobscope_gpu_memory_used_bytes") + ")\n  / on (cluster, uuid) group_left max by (cluster, uuid) (" +
						sel("jobscope_gpu_memory_total_bytes") + ")", Legend: "{{node}} GPU {{gpu}}"}}},
				{ID: 13, Kind: TimeSeries, Title: "GPU power", Unit: UnitWatts,
					Description: "How much power does each of the job's GPUs draw (a shared GPU's whole draw)?",
					Queries:     []Query{{Expr: jobGPU("jobscope_gpu_power_watts"), Legend: "{{node}} GPU {{gpu}}"}}},
				{ID: 14, Kind: Stat, Title: "GPU energy", Unit: UnitJoules, Width: 6,
					Description: "How much energy have the job's GPUs used since the node agents first saw the job on them?",
					Queries:     []Query{{Expr: "sum(" + sel("job_node:jobscope_job_gpu_energy_joules_total:sum", jn...) + ")", Instant: true}}},
				{ID: 15, Kind: TimeSeries, Title: "GPU activity per node", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0), Width: 18,
					Description: "Do all the job's nodes keep their GPUs equally busy (mean activity per node)? One node lower than the rest is a straggler.",
					Queries:     []Query{{Expr: sel("job_node:jobscope_gpu_activity_ratio:avg", jn...), Legend: "{{node}}"}}},
			}},
			{Title: "Host (CPU and memory)", Panels: []Panel{
				{ID: JobPanelCPU, Kind: TimeSeries, Title: "CPU cores used", Unit: UnitCoresCount,
					Description: "How many CPU cores does the job use on each node, against the cores in its cpuset? Far below: it asked for CPUs it does not use; at the line: CPU-bound.",
					Queries: []Query{
						{Expr: "sum by (cluster, node) (\n  rate(" + sel("jobscope_job_cpu_seconds_total", nj...) + "[$__rate_interval])\n  * on (cluster, job, instance) group_left (node) max by (cluster, job, instance, node) (" +
							sel("jobscope_node_info", `node=~"$node"`) + ")\n)", Legend: "{{node}} used"},
						{Expr: "sum by (cluster, node) (" + jobHost("jobscope_job_cpus") + ")", Legend: "{{node}} allocated"},
					}},
				{ID: JobPanelMemory, Kind: TimeSeries, Title: "Memory", Unit: UnitBytes,
					Description: "How much memory does the job's cgroup hold on each node (page cache included), its peak, and its limit? Used at the limit with OOM kills: it needs more memory.",
					Queries: []Query{
						{Expr: "sum by (cluster, node) (" + jobHost("jobscope_job_memory_used_bytes") + ")", Legend: "{{node}} used"},
						{Expr: "sum by (cluster, node) (" + jobHost("jobscope_job_memory_peak_bytes") + ")", Legend: "{{node}} peak"},
						{Expr: "sum by (cluster, node) (" + jobHost("jobscope_job_memory_limit_bytes") + ")", Legend: "{{node}} limit"},
					}},
				{ID: 22, Kind: Stat, Title: "OOM kills", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 4,
					Description: "Has the kernel's OOM killer killed processes of the job? Above 0: the job ran out of memory on a node.",
					Queries:     []Query{{Expr: "sum(" + jobHost("jobscope_job_oom_kills_total") + ")", Instant: true}}},
			}},
			{Title: "Fabric", Panels: []Panel{
				{ID: 30, Kind: TimeSeries, Title: "InfiniBand traffic per node", Unit: UnitBytesRate,
					Description: "How much does the job send and receive over InfiniBand on each node (5m rate; an upper bound on shared nodes)? A multi-node job near 0 is not communicating.",
					Queries: []Query{
						{Expr: sel("job_node:jobscope_infiniband_job_received_bytes:rate5m", jn...), Legend: "{{node}} received"},
						{Expr: sel("job_node:jobscope_infiniband_job_transmitted_bytes:rate5m", jn...), Legend: "{{node}} transmitted"},
					}},
			}},
			{Title: "Balance", Panels: []Panel{
				{ID: 40, Kind: TimeSeries, Title: "GPU activity against the job's median", Unit: UnitRatio, Thresholds: straggler,
					Description: "Does any node of this multi-node job keep its GPUs less busy than the job's median node? Below 50%: a straggler slows every synchronising step.",
					Queries:     []Query{{Expr: sel("job_node:jobscope_gpu_activity_vs_job_median:ratio", jn...), Legend: "{{node}}"}}},
				{ID: 41, Kind: TimeSeries, Title: "Fabric traffic against the job's median", Unit: UnitRatio, Thresholds: straggler,
					Description: "Does any node of this multi-node job move less InfiniBand traffic than the job's median node? Below 50%: that node lags or its link is degraded.",
					Queries:     []Query{{Expr: sel("job_node:jobscope_infiniband_job_bytes_vs_job_median:ratio_rate5m", jn...), Legend: "{{node}}"}}},
			}},
			{Title: "Faults", Panels: []Panel{
				{ID: 50, Kind: Table, Title: "GPU faults the job hit", Unit: UnitCount, Thresholds: zeroOK,
					Description: "Did a GPU of this job have a fault (XID, uncorrectable ECC, failed row remap, lost) in the last 10 minutes? If so the job's results may be wrong or it may hang.",
					Queries: []Query{{Expr: "max by (cluster, uuid) (" + sel("gpu:jobscope_gpu_fault:bool") + ")\n  * on (cluster, uuid) group_right " +
						sel("jobscope_gpu_tenant_info", `tenant="slurm"`, `job_id="$job_id"`, `node=~"$node"`)}}},
				{ID: 51, Kind: TimeSeries, Title: "XID events on the job's GPUs", Unit: UnitCount,
					Description: "Which XID errors did the job's GPUs report (by code)? 48, 63, 64, 74, 79, 94, 95 need the GPU drained.",
					Queries: []Query{{Expr: "sum by (cluster, node, gpu, xid) (\n  increase(" + sel("jobscope_gpu_xid_errors_total") + "[$__rate_interval])\n  * on (cluster, uuid) group_left (node) " +
						sel("jobscope_gpu_tenant_info", `tenant="slurm"`, `job_id="$job_id"`, `node=~"$node"`) + "\n)", Legend: "{{node}} GPU {{gpu}} XID {{xid}}"}}},
				{ID: 52, Kind: TimeSeries, Title: "Throttling on the job's GPUs", Unit: UnitOnOff,
					Description: "Were the job's GPUs slowed down (thermal, power cap, power brake)? While on, the job runs slower than the hardware can.",
					Queries: []Query{{Expr: "max by (cluster, node, gpu, reason) (\n  " + sel("jobscope_gpu_throttle_reason", `reason=~".*thermal.*|sw_power_cap|hw_slowdown|hw_power_brake_slowdown"`) +
						"\n  * on (cluster, uuid) group_left (node) " + sel("jobscope_gpu_tenant_info", `tenant="slurm"`, `job_id="$job_id"`, `node=~"$node"`) + "\n)", Legend: "{{node}} GPU {{gpu}} {{reason}}"}}},
			}},
		},
	}
}
