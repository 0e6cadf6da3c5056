package collectors

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes the framework's own metrics.
const Namespace = "jobscope"

// Collector sends the metrics of one scrape. It returns an error when it
// could not produce (all of) its data; metrics already sent are kept.
// Collectors return errors and never log them: the framework does.
type Collector interface {
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// CollectorFunc adapts a function to Collector.
type CollectorFunc func(ctx context.Context, ch chan<- prometheus.Metric) error

// Update calls f.
func (f CollectorFunc) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return f(ctx, ch)
}

// FamilySetCollector is a Collector that can also return its metrics as
// ready-built families, in a FamilySet it returns to every scrape while its
// data does not change (the slurm collectors: one per poll). Runner.Gatherer
// serves the families as they are and /metrics writes the set's cached
// encoding instead of encoding them again (see the package comment). The
// families are sorted by name, the metrics of each as prometheus.Registry
// sorts them (CompareMetrics), no family is empty, and each name belongs to
// this collector alone (a family of the same name from another collector is
// merged, at a cost). Nobody modifies them. The error means what Update's
// does; the set returned with it is served. FamilyBuilder builds such
// families.
type FamilySetCollector interface {
	Collector
	FamilySet(ctx context.Context) (*FamilySet, error)
}

// FamilySetFunc adapts a function returning a FamilySet to
// FamilySetCollector.
type FamilySetFunc func(ctx context.Context) (*FamilySet, error)

// FamilySet calls f.
func (f FamilySetFunc) FamilySet(ctx context.Context) (*FamilySet, error) { return f(ctx) }

// Update sends the families of f's set one metric at a time
// (Runner.Scrape's path).
func (f FamilySetFunc) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	set, err := f(ctx)
	return errors.Join(err, SendFamilies(ch, set.Families()))
}

// ErrUnknownCollector is returned by Runner.Scrape and Runner.Gatherer for
// a name that is not an enabled collector.
var ErrUnknownCollector = errors.New("unknown or disabled collector")

// ErrNoData marks a collector whose data does not exist on this host (no GPU,
// no InfiniBand HCA). It is logged at debug level, not as an error, and the
// collector's success metric is still 0.
var ErrNoData = errors.New("collector returned no data")
