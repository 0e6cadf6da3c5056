package dashboards

// InfiniBand is the fabric seen from the node agents' HCA ports.
func InfiniBand() Dashboard {
	port := "{{node}} {{device}}/{{port}}"
	ports := func(expr string) string {
		return "max by (cluster, node, device, port) (" + agentNode(expr) + ")"
	}
	rate := func(m string, extra ...string) string {
		return "rate(" + sel(m, extra...) + "[$__rate_interval])"
	}
	errs := `counter=~"symbol_error|link_error_recovery|link_downed|port_rcv_errors|port_rcv_remote_physical_errors|port_xmit_discards|local_link_integrity_errors|excessive_buffer_overrun_errors|VL15_dropped"`
	return Dashboard{
		Name:        "infiniband",
		Title:       "jobscope / InfiniBand fabric",
		Description: "Per HCA port: traffic, saturation, errors, link state, links trained below their expected rate or width, saturated error counters, and the jobs on the fabric.",
		Vars:        []Var{nodeVar(sel("jobscope_node_info"))},
		Rows: []Row{
			{Title: "Traffic", Panels: []Panel{
				{ID: 1, Kind: TimeSeries, Title: "Received per port", Unit: UnitBytesRate,
					Description: "How many bytes per second does each port receive?",
					Queries:     []Query{{Expr: ports(rate("jobscope_infiniband_port_received_bytes_total")), Legend: port}}},
				{ID: 2, Kind: TimeSeries, Title: "Transmitted per port", Unit: UnitBytesRate,
					Description: "How many bytes per second does each port send?",
					Queries:     []Query{{Expr: ports(rate("jobscope_infiniband_port_transmitted_bytes_total")), Legend: port}}},
				{ID: 3, Kind: TimeSeries, Title: "Link utilisation", Unit: UnitRatio, Min: ptr(0.0), Thresholds: nearFull,
					Description: "Which share of its trained rate does each port use (the busier direction)? Near 100%: the link is the bottleneck.",
					Queries: []Query{{Expr: ports("max without (direction) (\n  label_replace(" + rate("jobscope_infiniband_port_received_bytes_total") + `, "direction", "rx", "", "")` +
						"\n  or label_replace(" + rate("jobscope_infiniband_port_transmitted_bytes_total") + `, "direction", "tx", "", "")` +
						"\n)\n  / on (cluster, job, instance, device, port) " + sel("jobscope_infiniband_port_rate_bytes_per_second")), Legend: port}}},
				{ID: 4, Kind: TimeSeries, Title: "Transmit wait", Unit: UnitPerSecond,
					Description: "How often does each port have data to send but no credits (port_xmit_wait ticks per second)? Rising wait is congestion downstream.",
					Queries:     []Query{{Expr: ports(rate("jobscope_infiniband_port_pma_total", `counter="port_xmit_wait"`)), Legend: port}}},
				{ID: 5, Kind: TimeSeries, Title: "Congestion and retransmission (mlx5)", Unit: UnitPerSecond,
					Description: "Do RDMA flows see congestion notifications, retransmissions or receive-buffer drops (hw_counters per second)? Steady out_of_buffer or local_ack_timeout_err slow jobs.",
					Queries: []Query{{Expr: "sum by (cluster, node, device, port, counter) (" + agentNode(rate("jobscope_infiniband_port_hw_stats_total",
						`counter=~"np_cnp_sent|rp_cnp_handled|np_ecn_marked_roce_packets|local_ack_timeout_err|packet_seq_err|out_of_sequence|rnr_nak_retry_err|out_of_buffer"`)) + ")",
						Legend: "{{node}} {{device}}/{{port}} {{counter}}"}}},
				{ID: 6, Kind: Table, Title: "Jobs on the fabric", Unit: UnitBytesRate, Links: []Link{jobLink},
					Description: "Which jobs move the most InfiniBand traffic per node (received plus transmitted, 5m rate)?",
					Queries:     []Query{{Expr: "topk(20, " + sel("job_node:jobscope_infiniband_job_bytes:rate5m", `node=~"$node"`) + ")"}}},
			}},
			{Title: "Errors and link state", Panels: []Panel{
				{ID: 7, Kind: Stat, Title: "Degraded links", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many active ports trained below their expected rate or width (where --infiniband.expected-* is set)? Reseat or replace the cable.",
					Queries:     []Query{{Expr: "sum(" + agentNode(sel("jobscope_infiniband_port_link_degraded")) + ") or vector(0)", Instant: true}}},
				{ID: 8, Kind: Stat, Title: "Ports not active", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many ports are not in state active (down, init, armed)? A port of a node in service should be active.",
					Queries:     []Query{{Expr: "count(" + agentNode("("+sel("jobscope_infiniband_port_state_id")+" != 4)") + ") or vector(0)", Instant: true}}},
				{ID: 9, Kind: Stat, Title: "Saturated error counters", Unit: UnitCount, Thresholds: zeroOK, Width: 6, Height: 5,
					Description: "How many error counters are stuck at their maximum (their rate reads 0 although errors go on)? Clear them with perfquery -R.",
					Queries:     []Query{{Expr: "sum(" + agentNode(sel("jobscope_infiniband_port_pma_saturated")) + ") or vector(0)", Instant: true}}},
				{ID: 10, Kind: Stat, Title: "Unreadable counter files", Unit: UnitPerSecond, Thresholds: []Step{{0, green}, {0.001, yellow}}, Width: 6, Height: 5,
					Description: "Does the agent fail to read sysfs counter files (per second)? Their values are missing from the panels above.",
					Queries:     []Query{{Expr: "sum(" + agentNode(rate("jobscope_infiniband_read_errors_total")) + ")", Instant: true}}},
				{ID: 11, Kind: TimeSeries, Title: "Error counters", Unit: UnitPerSecond,
					Description: "Which ports count symbol errors, link recoveries and downs, receive errors or discards (per second)? Symbol errors and recoveries point at a cable or transceiver.",
					Queries: []Query{{Expr: "sum by (cluster, node, device, port, counter) (" + agentNode(rate("jobscope_infiniband_port_pma_total", errs)) + ")",
						Legend: "{{node}} {{device}}/{{port}} {{counter}}"}}},
				{ID: 12, Kind: Table, Title: "Ports", Unit: UnitCount, Links: []Link{nodeLink},
					Overrides:   map[string]string{"Value #C": UnitBytesRate},
					Description: "What state is each port in (4 = active; physical 5 = link up), at which rate and width did it train, and is it degraded?",
					Queries: []Query{
						{Expr: ports(sel("jobscope_infiniband_port_state_id")), Legend: "state"},
						{Expr: ports(sel("jobscope_infiniband_port_physical_state_id")), Legend: "physical state"},
						{Expr: ports(sel("jobscope_infiniband_port_rate_bytes_per_second")), Legend: "rate"},
						{Expr: ports(sel("jobscope_infiniband_port_link_width_lanes")), Legend: "lanes"},
					}},
			}},
		},
	}
}
