package dashboards

// GPUHealth is the fleet's GPU faults and degradations.
func GPUHealth() Dashboard {
	legend := "{{node}} GPU {{gpu}}"
	return Dashboard{
		Name:        "gpu-health",
		Title:       "jobscope / GPU fleet health",
		Description: "XID errors by code, ECC errors, row remaps, thermal and power throttling, NVLink and PCIe errors, and GPUs lost, per node and GPU.",
		Vars:        []Var{nodeVar(sel("jobscope_gpu_info"))},
		Rows: []Row{
			{Title: "Faults", Panels: []Panel{
				{ID: 1, Kind: Stat, Title: "GPUs lost", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many GPUs stopped answering (fell off the bus, `GPU is lost`)? Each needs the node drained and serviced.",
					Queries:     []Query{{Expr: "count(" + gpuNode("("+sel("jobscope_gpu_up")+" == 0)") + ") or vector(0)", Instant: true}}},
				{ID: 2, Kind: Stat, Title: "GPUs with a fault", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many GPUs had a fault (XID, uncorrectable ECC, failed row remap, lost) in the last 10 minutes?",
					Queries:     []Query{{Expr: "sum(" + gpuNode(sel("gpu:jobscope_gpu_fault:bool")) + ") or vector(0)", Instant: true}}},
				{ID: 3, Kind: Stat, Title: "Row remap failures", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many GPUs failed to remap a row (out of spare rows)? Such a GPU needs replacing.",
					Queries:     []Query{{Expr: "sum(" + gpuNode(sel("jobscope_gpu_row_remap_failure")) + ") or vector(0)", Instant: true}}},
				{ID: 4, Kind: Stat, Title: "Row remaps pending", Unit: UnitCount, Thresholds: []Step{{0, green}, {1, yellow}}, Width: 6, Height: 5,
					Description: "How many GPUs wait for a reset to apply a row remap? Drain and reset them when their jobs end.",
					Queries:     []Query{{Expr: "sum(" + gpuNode(sel("jobscope_gpu_row_remap_pending")) + ") or vector(0)", Instant: true}}},
				{ID: 5, Kind: TimeSeries, Title: "XID errors by code", Unit: UnitCount,
					Description: "Which XID errors do the GPUs report, how often (events per interval, by code)? 48, 63, 64, 74, 79, 94, 95 need the GPU drained; 13, 31, 43 are usually the application's.",
					Queries: []Query{{Expr: "sum by (cluster, node, gpu, xid) (" + gpuNode("increase("+sel("jobscope_gpu_xid_errors_total")+"[$__rate_interval])") + ")",
						Legend: "{{node}} GPU {{gpu}} XID {{xid}}"}}},
				{ID: 6, Kind: Table, Title: "Last XID (DCGM backend)", Unit: UnitCount, Links: []Link{nodeLink},
					Description: "Which XID did each GPU report last (the DCGM exporter gives the last code, not a count)?",
					Queries:     []Query{{Expr: gpuNode(sel("jobscope_gpu_last_xid"))}}},
				{ID: 7, Kind: TimeSeries, Title: "ECC errors", Unit: UnitCount,
					Description: "Do GPUs report ECC errors (volatile, per interval)? Uncorrected ones corrupt data: drain the GPU.",
					Queries: []Query{{Expr: "sum by (cluster, node, gpu, type) (" + gpuNode("increase("+sel("jobscope_gpu_ecc_errors_total", `counter="volatile"`)+"[$__rate_interval])") + ")",
						Legend: "{{node}} GPU {{gpu}} {{type}}"}}},
				{ID: 8, Kind: Table, Title: "Remapped rows", Unit: UnitCount, Links: []Link{nodeLink},
					Description: "How many memory rows has each GPU remapped, correctable and uncorrectable, over its life? Many uncorrectable remaps foretell a failure.",
					Queries:     []Query{{Expr: "max by (cluster, node, gpu, type) (" + gpuNode(sel("jobscope_gpu_remapped_rows_total")) + ")"}}},
			}},
			{Title: "Throttling and temperature", Panels: []Panel{
				{ID: 9, Kind: TimeSeries, Title: "Thermal throttling", Unit: UnitOnOff, Width: 8,
					Description: "Which GPUs are slowed down because they are too hot (software or hardware thermal slowdown)? Check cooling and airflow.",
					Queries:     []Query{{Expr: "max by (cluster, node, gpu) (" + gpuNode(sel("jobscope_gpu_throttle_reason", `reason=~"sw_thermal_slowdown|hw_thermal_slowdown"`)) + ")", Legend: legend}}},
				{ID: 10, Kind: TimeSeries, Title: "Power throttling", Unit: UnitOnOff, Width: 8,
					Description: "Which GPUs are slowed down by their power cap or by the power brake (hw_slowdown, hw_power_brake_slowdown: the PSU or the chassis signalled)?",
					Queries: []Query{{Expr: "max by (cluster, node, gpu, reason) (" + gpuNode(sel("jobscope_gpu_throttle_reason", `reason=~"sw_power_cap|hw_slowdown|hw_power_brake_slowdown"`)) + ")",
						Legend: "{{node}} GPU {{gpu}} {{reason}}"}}},
				{ID: 11, Kind: TimeSeries, Title: "GPU temperature", Unit: UnitCelsius, Width: 8,
					Thresholds:  []Step{{0, green}, {83, yellow}, {90, red}},
					Description: "How hot are the GPUs (die sensor)? Above the slowdown temperature (about 85-90 °C on data-centre GPUs) they throttle.",
					Queries:     []Query{{Expr: "max by (cluster, node, gpu) (" + gpuNode(sel("jobscope_gpu_temperature_celsius", `sensor="gpu"`)) + ")", Legend: legend}}},
			}},
			{Title: "Interconnects", Panels: []Panel{
				{ID: 12, Kind: TimeSeries, Title: "NVLink errors", Unit: UnitPerSecond,
					Description: "Do NVLink links report CRC, replay or recovery errors (per second, by type)? Recovery errors that keep rising mean a bad link.",
					Queries: []Query{{Expr: "sum by (cluster, node, gpu, type) (" + gpuNode("rate("+sel("jobscope_gpu_nvlink_errors_total")+"[$__rate_interval])") + ")",
						Legend: "{{node}} GPU {{gpu}} {{type}}"}}},
				{ID: 13, Kind: TimeSeries, Title: "PCIe replays", Unit: UnitPerSecond,
					Description: "Do GPUs replay PCIe packets (per second)? A steady rate means a bad riser, slot or cable.",
					Queries:     []Query{{Expr: "max by (cluster, node, gpu) (" + gpuNode("rate("+sel("jobscope_gpu_pcie_replays_total")+"[$__rate_interval])") + ")", Legend: legend}}},
			}},
		},
	}
}
