package node

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
	"jobscope/gpu"
)

// backendCollector says whether GPUs can be read at all, and why not, so
// "no GPU driver" is a series an alert can see, not only a log line.
type backendCollector struct {
	deps Deps
	up   *prometheus.Desc
}

func newBackendCollector(d Deps) (collectors.Collector, error) {
	return &backendCollector{deps: d,
		up: desc("gpu_backend_up",
			"Whether the GPU backend could read the node's GPUs in this scrape (1, reason \"\") or not (0, reason says why: library_not_found, driver_not_loaded, no_permission, init_failed, query_failed, unreachable, http_status, not_dcgm_exporter, parse_error, timeout, error).",
			"backend", "reason"),
	}, nil
}

// Update always succeeds when the series could be sent: a backend that
// cannot read the GPUs is this collector's data, not its failure.
func (c *backendCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if c.deps.GPUs == nil {
		return collectors.ErrNoData
	}
	_, err := c.deps.GPUs(ctx)
	e := collectors.NewEmitter(ch)
	up := 1.0
	if err != nil {
		up = 0
	}
	e.Gauge(c.up, up, c.deps.GPUBackend, gpu.Reason(err))
	return e.Err()
}
