// Package collectors is jobscope's collector framework: every exporter command
// (slurm, node) owns a Set of named collectors that can be switched with
// --collector.NAME / --no-collector.NAME. The framework, not the collectors,
// measures each collector's duration and success, runs them in parallel, and
// makes sure one failing or hung collector never fails the scrape or blanks
// the others.
//
// Collector packages live below this one (collectors/slurm, ...) and only map
// typed data to metrics.
package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
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

// ErrNoData marks a collector whose data does not exist on this host (no GPU,
// no InfiniBand HCA). It is logged at debug level, not as an error, and the
// collector's success metric is still 0.
var ErrNoData = errors.New("collector returned no data")

// Factory builds a collector once flags are parsed. D is whatever the command
// hands its collectors (a snapshot getter, paths, options).
type Factory[D any] func(deps D) (Collector, error)

type entry[D any] struct {
	name    string
	help    string
	enabled *bool
	def     bool
	factory Factory[D]
}

// Set is the registry of one command's collectors. It is built in main, not
// a package-global, so the slurm and node commands each have their own.
type Set[D any] struct {
	entries []*entry[D]
	byName  map[string]*entry[D]
}

// NewSet returns an empty set.
func NewSet[D any]() *Set[D] {
	return &Set[D]{byName: map[string]*entry[D]{}}
}

// Register adds a collector. It panics on a duplicate name: that is a
// programming error caught by any test that builds the set.
func (s *Set[D]) Register(name string, enabledByDefault bool, help string, f Factory[D]) {
	if _, dup := s.byName[name]; dup {
		panic(fmt.Sprintf("collector %q registered twice", name))
	}
	e := &entry[D]{name: name, help: help, def: enabledByDefault, factory: f}
	s.entries = append(s.entries, e)
	s.byName[name] = e
}

// FlagGroup is what both *kingpin.Application and *kingpin.CmdClause offer.
type FlagGroup interface {
	Flag(name, help string) *kingpin.FlagClause
}

// AddFlags adds --collector.NAME (and kingpin's --no-collector.NAME) for
// every registered collector.
func (s *Set[D]) AddFlags(g FlagGroup) {
	for _, e := range s.entries {
		state := "disabled"
		if e.def {
			state = "enabled"
		}
		e.enabled = g.Flag("collector."+e.name, fmt.Sprintf("%s (default: %s).", e.help, state)).
			Default(fmt.Sprint(e.def)).Bool()
	}
}

// Names returns every registered collector name, sorted.
func (s *Set[D]) Names() []string {
	names := make([]string, 0, len(s.entries))
	for _, e := range s.entries {
		names = append(names, e.name)
	}
	sort.Strings(names)
	return names
}

// Enable switches a collector on or off without flags (tests, defaults).
func (s *Set[D]) Enable(name string, on bool) error {
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("unknown collector %q", name)
	}
	e.enabled = &on
	return nil
}

func (e *entry[D]) isEnabled() bool {
	if e.enabled == nil {
		return e.def
	}
	return *e.enabled
}

// Build constructs every enabled collector. A factory error stops start-up:
// it means a flag or path is wrong, which the operator must see at once.
func (s *Set[D]) Build(deps D, logger *slog.Logger) (*Runner, error) {
	r := &Runner{logger: logger, collectors: map[string]Collector{}}
	for _, e := range s.entries {
		if !e.isEnabled() {
			continue
		}
		c, err := e.factory(deps)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", e.name, err)
		}
		r.collectors[e.name] = c
		r.names = append(r.names, e.name)
	}
	sort.Strings(r.names)
	logger.Info("enabled collectors", "collectors", r.names)
	return r, nil
}

var (
	scrapeDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_duration_seconds"),
		"How long a collector took during the last scrape.",
		[]string{"collector"}, nil)
	scrapeSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_success"),
		"Whether a collector succeeded during the last scrape (1) or not (0).",
		[]string{"collector"}, nil)
)

// Runner runs a Set's enabled collectors for one scrape.
type Runner struct {
	logger     *slog.Logger
	names      []string
	collectors map[string]Collector
}

// Names are the enabled collectors, sorted.
func (r *Runner) Names() []string { return r.names }

// Scrape returns a prometheus.Collector that runs the named collectors (all
// enabled ones when names is empty) under ctx. It is made per scrape so that
// the scrape's deadline reaches every collector.
func (r *Runner) Scrape(ctx context.Context, names ...string) (prometheus.Collector, error) {
	run := map[string]Collector{}
	if len(names) == 0 {
		run = r.collectors
	}
	for _, n := range names {
		c, ok := r.collectors[n]
		if !ok {
			return nil, fmt.Errorf("collector %q is unknown or disabled", n)
		}
		run[n] = c
	}
	return &scrape{ctx: ctx, logger: r.logger, collectors: run}, nil
}

type scrape struct {
	ctx        context.Context
	logger     *slog.Logger
	collectors map[string]Collector
}

// Describe sends nothing: the set of metrics depends on the data, so the
// scrape is an "unchecked" collector in client_golang's terms.
func (s *scrape) Describe(chan<- *prometheus.Desc) {}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	wg.Add(len(s.collectors))
	for name, c := range s.collectors {
		go func() {
			defer wg.Done()
			s.run(name, c, ch)
		}()
	}
	wg.Wait()
}

// run executes one collector. The collector writes to its own channel, which
// is forwarded to ch until the scrape's deadline: a collector that hangs (an
// NVML call stuck on a dying GPU) is abandoned, its late metrics drained and
// dropped, and it is reported as failed instead of holding up the scrape.
func (s *scrape) run(name string, c Collector, ch chan<- prometheus.Metric) {
	start := time.Now()
	sink := make(chan prometheus.Metric)
	done := make(chan error, 1)
	go func() {
		defer close(sink)
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("collector panicked: %v", p)
			}
		}()
		done <- c.Update(s.ctx, sink)
	}()

	var err error
forward:
	for {
		select {
		case m, ok := <-sink:
			if !ok {
				err = <-done
				break forward
			}
			ch <- m
		case <-s.ctx.Done():
			err = fmt.Errorf("abandoned after scrape deadline: %w", s.ctx.Err())
			go func() {
				for range sink { //nolint:revive // drain the abandoned collector
				}
			}()
			break forward
		}
	}

	duration := time.Since(start).Seconds()
	success := 1.0
	if err != nil {
		success = 0
		if errors.Is(err, ErrNoData) {
			s.logger.Debug("collector returned no data", "collector", name, "duration_seconds", duration, "err", err)
		} else {
			s.logger.Error("collector failed", "collector", name, "duration_seconds", duration, "err", err)
		}
	} else {
		s.logger.Debug("collector succeeded", "collector", name, "duration_seconds", duration)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, duration, name)
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, name)
}
