package dashboards

import "strings"

// Tenants is the Kubernetes side: namespaces, pods, and Slinky's slurmd pods.
func Tenants() Dashboard {
	ns := `k8s_namespace=~"$k8s_namespace"`
	panels := ownerPanels(1, "k8s_namespace", "namespace", nil)
	for i := range panels {
		panels[i].Queries = filterQueries(panels[i].Queries, ns)
	}
	return Dashboard{
		Name:        "tenants",
		Title:       "jobscope / Kubernetes tenants",
		Description: "GPU-hours held versus used per Kubernetes namespace and pod, and Slinky: the Slurm jobs running in slurmd pods and the Kubernetes nodes under them.",
		Vars: []Var{{Name: "k8s_namespace", Label: "namespace", Multi: true,
			Description: "Kubernetes namespace of the pods that hold GPUs.",
			Selector:    sel("jobscope_gpu_tenant_info", `tenant="kubernetes"`), LabelName: "k8s_namespace"}},
		Rows: []Row{
			{Title: "Namespaces", Panels: panels},
			{Title: "Pods", Panels: []Panel{
				{ID: 10, Kind: Table, Title: "Pods holding GPUs", Unit: UnitCount,
					Description: "Which pods hold GPUs now, how many, and how many of them are busy?",
					Queries: []Query{
						{Expr: sel("k8s_pod:jobscope_gpus_held:count", ns), Legend: "held"},
						{Expr: sel("k8s_pod:jobscope_gpus_busy:sum", ns), Legend: "busy"},
					}},
				{ID: 11, Kind: TimeSeries, Title: "GPU activity per pod", Unit: UnitRatio, Min: ptr(0.0), Max: ptr(1.0),
					Description: "How busy is each pod's GPU (utilisation or SM activity, whichever the backend gives)? A time-sliced GPU shows the whole GPU's activity for every pod on it.",
					Queries:     []Query{{Expr: sel("k8s_pod_gpu:jobscope_gpu_activity_ratio:max", ns), Legend: "{{k8s_namespace}}/{{k8s_pod}} GPU {{gpu}}"}}},
				{ID: 12, Kind: TimeSeries, Title: "GPU memory per pod", Unit: UnitBytes,
					Description: "How much device memory do each pod's GPUs hold (a time-sliced GPU's whole memory for each of its pods: NVML does not split it)?",
					Queries: []Query{{Expr: "sum by (cluster, k8s_namespace, k8s_pod) (\n  max by (cluster, uuid) (" + sel("jobscope_gpu_memory_used_bytes") + ")\n  * on (cluster, uuid) group_right " +
						sel("jobscope_gpu_tenant_info", `tenant="kubernetes"`, ns) + "\n)", Legend: "{{k8s_namespace}}/{{k8s_pod}}"}}},
			}},
			{Title: "Slinky", Panels: []Panel{
				{ID: 20, Kind: Table, Title: "Slurm jobs in slurmd pods", Unit: UnitCount, Links: []Link{jobLink},
					Description: "Which Slurm jobs run inside Slinky's slurmd pods, in which pod and on which Kubernetes node, with how many GPUs?",
					Queries: []Query{{Expr: "count by (cluster, node, slurmd_namespace, slurmd_pod, job_id) (\n  " +
						sel("jobscope_gpu_tenant_info", `tenant="slurm"`, `slurmd_pod!=""`) + "\n)\n  * on (cluster, node) group_left (k8s_node) max by (cluster, node, k8s_node) (" + sel("jobscope_node_info") + ")"}}},
				{ID: 21, Kind: Table, Title: "slurmd pods (NodeSets)", Unit: UnitCount, Links: []Link{nodeLink},
					Description: "Which slurmd pods are Slurm nodes (NodeSet members), and on which Kubernetes nodes do they run?",
					Queries:     []Query{{Expr: "max by (cluster, node, slurmd_namespace, slurmd_pod, k8s_node) (" + sel("jobscope_node_info", `slurmd_pod!=""`) + ")"}}},
			}},
		},
	}
}

// filterQueries adds a matcher to every selector of the rule names the
// owner panels use (they have exactly one selector per rule reference).
func filterQueries(qs []Query, matcher string) []Query {
	out := make([]Query, len(qs))
	for i, q := range qs {
		q.Expr = strings.ReplaceAll(q.Expr, "{"+C+"}", "{"+C+", "+matcher+"}")
		out[i] = q
	}
	return out
}
