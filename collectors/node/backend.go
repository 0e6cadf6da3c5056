package node

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
	"jobscope/gpu"
)

// backendCollector says whether GPUs can be read at all, so "no GPU
// driver" is a series an alert can see, not only a log line.
type backendCollector struct {
	deps Deps
	up   *prometheus.Desc
}

func newBackendCollector(d Deps) (collectors.Collector, error) {
	return &backendCollector{deps: d,
		up: desc("gpu_backend_up",
			"Whether the GPU backend could read the node's GPUs in this scrape (1) or is unavailable, e.g. no driver or no DCGM exporter (0).",
			"backend"),
	}, nil
}

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
	e.Gauge(c.up, up, c.deps.GPUBackend)
	// Unavailability is this collector's data, not its failure.
	if err != nil && !errors.Is(err, gpu.ErrUnavailable) {
		return err
	}
	return e.Err()
}
