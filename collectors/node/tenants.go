package node

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
)

// tenantsCollector exports the one join series per held GPU that rules use
// to give GPU series a job or pod: `* on (uuid) group_left (job_id)
// jobscope_gpu_tenant_info`. A free GPU has none.
type tenantsCollector struct {
	deps     Deps
	tenant   *prometheus.Desc
	sourceUp *prometheus.Desc
	stale    *prometheus.Desc
}

func newTenantsCollector(d Deps) (collectors.Collector, error) {
	return &tenantsCollector{
		deps: d,
		tenant: desc("gpu_tenant_info",
			"Who holds the GPU (always 1): tenant is slurm (job_id) or kubernetes (namespace, pod, container); source is how it was found (prolog, cgroup, process, kubelet). Absent for a free GPU.",
			"uuid", "gpu", "tenant", "job_id", "namespace", "pod", "container", "source"),
		sourceUp: desc("tenant_source_up",
			"Whether a tenant source (gpu, prolog, cgroup, kubelet) could be read in this scrape (1) or not (0). Sources not configured are absent.",
			"source"),
		stale: desc("slurm_stale_prolog_files",
			"Prolog files whose job no longer runs on this node (the epilog did not remove them); they are ignored."),
	}, nil
}

func (c *tenantsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if c.deps.Tenancy == nil {
		return collectors.ErrNoData
	}
	v := c.deps.Tenancy(ctx)
	e := collectors.NewEmitter(ch)
	for _, g := range v.GPUs {
		for _, t := range g.Tenants {
			e.Gauge(c.tenant, 1, g.UUID, strconv.Itoa(g.Index), t.Kind, t.JobID, t.Namespace, t.Pod, t.Container, t.Source)
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
		e.Gauge(c.sourceUp, up, s)
	}
	if _, ok := v.Errors["prolog"]; ok {
		e.Gauge(c.stale, float64(len(v.StaleFiles)))
	}
	// A failing tenant source is visible in jobscope_tenant_source_up; the
	// GPU backend being absent is the gpu-backend collector's business.
	for _, s := range sources {
		if s != "gpu" && v.Errors[s] != nil {
			return fmt.Errorf("tenant sources failed: %v", failed)
		}
	}
	return e.Err()
}
