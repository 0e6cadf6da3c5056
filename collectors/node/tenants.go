package node

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"jobscope/collectors"
)

// tenantsCollector exports the join series, one per GPU and holder, that
// rules use to give GPU series a job or pod: `jobscope_gpu_utilization_ratio
// * on (cluster, uuid) group_right jobscope_gpu_tenant_info` (the tenant
// series is the "many" side: a shared GPU has several). A free GPU has none.
// Pod labels are k8s_*: the Prometheus operator sets namespace, pod and
// container as target labels (docs/names.md).
type tenantsCollector struct {
	deps     Deps
	tenant   *collectors.FamilyDesc
	sourceUp *collectors.FamilyDesc
	stale    *collectors.FamilyDesc
}

func newTenantsCollector(d Deps) (collectors.Collector, error) {
	c := &tenantsCollector{
		deps: d,
		tenant: gaugeDesc("gpu_tenant_info",
			"Who holds the GPU (always 1), one series per holder: tenant is slurm (job_id; gres_index where the job's prolog named it; slurmd_namespace, slurmd_pod on Slinky) or kubernetes (k8s_namespace, k8s_pod, k8s_container); source is how it was found (prolog, cgroup, process, kubelet). Absent for a free GPU.",
			"uuid", "gpu", "node", "tenant", "job_id", "gres_index", "k8s_namespace", "k8s_pod", "k8s_container",
			"slurmd_namespace", "slurmd_pod", "source"),
		sourceUp: gaugeDesc("tenant_source_up",
			"Whether a tenant source (gpu, prolog, cgroup, kubelet) could be read in this scrape (1) or not (0). Sources not configured are absent.",
			"source"),
		stale: gaugeDesc("tenant_prolog_stale_files",
			"Prolog files whose job no longer runs on this node (the epilog did not remove them); they are ignored."),
	}
	return familyCollector{c.build}, nil
}

func (c *tenantsCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	if c.deps.Tenancy == nil {
		return collectors.ErrNoData
	}
	v := c.deps.Tenancy(ctx)
	id, _ := c.deps.nodeFacts(ctx)
	for _, g := range v.GPUs {
		for _, t := range g.Tenants {
			gres := ""
			if t.HasGRESIndex {
				gres = strconv.Itoa(t.GRESIndex)
			}
			e.Add(c.tenant, 1, g.UUID, strconv.Itoa(g.Index), id.Node, t.Kind, t.JobID, gres, t.Namespace, t.Pod, t.Container,
				t.SlurmdNamespace, t.SlurmdPod, t.Source)
		}
	}
	sources := make([]string, 0, len(v.Errors))
	for s := range v.Errors {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	var failed []string
	for _, s := range sources {
		up := 1.0
		if v.Errors[s] != nil {
			up = 0
			failed = append(failed, fmt.Sprintf("%s: %v", s, v.Errors[s]))
		}
		e.Add(c.sourceUp, up, s)
	}
	if _, ok := v.Errors["prolog"]; ok {
		e.Add(c.stale, float64(len(v.StaleFiles)))
	}
	// A failing tenant source is visible in jobscope_tenant_source_up; the
	// GPU backend being absent is the gpu-backend collector's business.
	for _, s := range sources {
		if s != "gpu" && v.Errors[s] != nil {
			return fmt.Errorf("tenant sources failed: %v", failed)
		}
	}
	return nil
}
