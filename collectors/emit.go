package collectors

import (
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Emitter sends const metrics and keeps going when one is invalid: a job
// name with broken UTF-8 must not panic the exporter (MustNewConstMetric
// would) nor drop every other series. Invalid label values are repaired;
// anything else invalid is counted and reported by Err.
type Emitter struct {
	ch      chan<- prometheus.Metric
	dropped int
	first   error
}

// NewEmitter wraps ch.
func NewEmitter(ch chan<- prometheus.Metric) *Emitter { return &Emitter{ch: ch} }

// Gauge sends a gauge sample.
func (e *Emitter) Gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

// Counter sends a counter sample.
func (e *Emitter) Counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels)
}

func (e *Emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		if !utf8.ValidString(l) {
			labels[i] = string([]rune(l)) // replaces invalid bytes with U+FFFD
		}
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		e.dropped++
		if e.first == nil {
			e.first = err
		}
		return
	}
	e.ch <- m
}

// Err reports metrics that could not be built, nil when all were sent.
func (e *Emitter) Err() error {
	if e.dropped == 0 {
		return nil
	}
	return fmt.Errorf("%d metrics dropped, first: %w", e.dropped, e.first)
}
