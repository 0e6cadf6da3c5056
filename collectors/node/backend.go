package node

import (
	"context"

	"jobscope/collectors"
	"jobscope/gpu"
)

// backendCollector says whether GPUs can be read at all, and why not, so
// "no GPU driver" is a series an alert can see, not only a log line.
type backendCollector struct {
	deps Deps
	up   *collectors.FamilyDesc
}

func newBackendCollector(d Deps) (collectors.Collector, error) {
	c := &backendCollector{deps: d,
		up: gaugeDesc("gpu_backend_up",
			"Whether the GPU backend could read the node's GPUs in this scrape (1, reason \"\") or not (0, reason says why: library_not_found, driver_not_loaded, no_permission, init_failed, query_failed, unreachable, http_status, not_dcgm_exporter, parse_error, timeout, error).",
			"backend", "reason"),
	}
	return familyCollector{c.build}, nil
}

// build always succeeds when the series could be built: a backend that
// cannot read the GPUs is this collector's data, not its failure.
func (c *backendCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	if c.deps.GPUs == nil {
		return collectors.ErrNoData
	}
	_, err := c.deps.GPUs(ctx)
	up := 1.0
	if err != nil {
		up = 0
	}
	e.Add(c.up, up, c.deps.GPUBackend, gpu.Reason(err))
	return nil
}
