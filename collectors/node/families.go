package node

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
)

// familyCollector is a node collector that builds its families directly
// (collectors.FamilyBuilder) instead of a const metric per series: on the
// /metrics path its families are written as built, with no
// NewConstMetric, label-pair construction or registry sort per series,
// which were most of what a scrape allocated once the files were read
// (docs/performance.md). Node data is live, so every scrape builds a new
// set (NewScrapeFamilySet: written with the scrape's other families, no
// cached encoding); nothing is kept across scrapes.
type familyCollector struct {
	// build adds one scrape's samples to b. Its error means what a
	// Collector's does; the samples added are served with it.
	build func(ctx context.Context, b *collectors.FamilyBuilder) error
}

var _ collectors.FamilySetCollector = familyCollector{}

// FamilySet builds one scrape's families. Samples the builder drops (a
// wrong number of labels, a duplicate series) fail the collector as
// Emitter's dropped metrics did; invalid label values are repaired.
func (f familyCollector) FamilySet(ctx context.Context) (*collectors.FamilySet, error) {
	b := collectors.NewFamilyBuilder()
	err := f.build(ctx, b)
	mfs, buildErr := b.Build()
	if buildErr != nil {
		err = errors.Join(err, buildErr)
	}
	return collectors.NewScrapeFamilySet(mfs), err
}

// Update sends the families one const metric at a time (Runner.Scrape's
// path).
func (f familyCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return collectors.FamilySetFunc(f.FamilySet).Update(ctx, ch)
}

func gaugeDesc(name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewGaugeDesc(Namespace+"_"+name, help, labels...)
}

func counterDesc(name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewCounterDesc(Namespace+"_"+name, help, labels...)
}
