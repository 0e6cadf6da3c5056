package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

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
	return r.scrape(ctx, names)
}

func (r *Runner) scrape(ctx context.Context, names []string) (*scrape, error) {
	run := map[string]Collector{}
	if len(names) == 0 {
		run = r.collectors
	}
	for _, n := range names {
		c, ok := r.collectors[n]
		if !ok {
			return nil, fmt.Errorf("collector %q: %w", n, ErrUnknownCollector)
		}
		run[n] = c
	}
	ctx = context.WithValue(ctx, scrapeSharedKey{}, &scrapeShared{values: map[any]any{}})
	return &scrape{ctx: ctx, logger: r.logger, collectors: run}, nil
}

// scrapeShared holds the values the collectors of one scrape share
// (PerScrape).
type scrapeShared struct {
	mu     sync.Mutex
	values map[any]any
}

type scrapeSharedKey struct{}

// PerScrape returns load's result for key, loaded once per scrape: every
// collector of one scrape (Runner.Scrape, Runner.Gatherer) that asks for
// key with the scrape's ctx gets the value the first one loaded. Collectors
// that each read shared live data (the slurm collectors, the poller's
// latest snapshot) thus describe one version of it: the collectors of a
// scrape run concurrently, and read one after another they could straddle
// a poll, some serving the data before it and some after. load runs under
// a lock and must be quick. Outside a scrape, load is called every time.
func PerScrape[T any](ctx context.Context, key any, load func() T) T {
	shared, ok := ctx.Value(scrapeSharedKey{}).(*scrapeShared)
	if !ok {
		return load()
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if v, ok := shared.values[key]; ok {
		return v.(T)
	}
	v := load()
	shared.values[key] = v
	return v
}

// Gatherer returns the gatherer of one scrape: the static collectors (build
// info, Go runtime: registered afresh, so they are checked as usual) and the
// named collectors (all enabled ones when names is empty) under ctx, the
// families of FamilySetCollectors taken as they are and merged in by name.
// Its Gather may return families with an error; serve them
// (promhttp.ContinueOnError), as a failing collector never blanks others.
// Its GatherPage leaves the families of FamilySetCollectors in their sets,
// so that /metrics writes their cached encoding (Page).
func (r *Runner) Gatherer(ctx context.Context, static []prometheus.Collector, names ...string) (*Gathering, error) {
	s, err := r.scrape(ctx, names)
	if err != nil {
		return nil, err
	}
	s.takeSets = true
	reg := prometheus.NewRegistry()
	for _, c := range append(static[:len(static):len(static)], s) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering collector: %w", err)
		}
	}
	return &Gathering{reg: reg, s: s}, nil
}

// Gathering is one scrape's gatherer (Runner.Gatherer).
type Gathering struct {
	reg *prometheus.Registry
	s   *scrape
}

// Gather returns every family of the scrape, sorted by name.
func (g *Gathering) Gather() ([]*dto.MetricFamily, error) {
	mfs, sets, err := g.gather()
	lists := make([][]*dto.MetricFamily, 0, len(sets)+1)
	for _, set := range sets {
		lists = append(lists, set.Families())
	}
	merged, mergeErr := mergeFamilies(append(lists, mfs))
	return merged, errors.Join(err, mergeErr)
}

// GatherPage gathers like Gather, but the families of FamilySetCollectors
// stay in their sets, to be written from the sets' cached encoding. A set
// built for this scrape alone (NewScrapeFamilySet) and a set with a family
// name that another collector also has are merged as Gather does instead.
func (g *Gathering) GatherPage() (*Page, error) {
	mfs, sets, err := g.gather()
	lists := [][]*dto.MetricFamily{mfs}
	count := map[string]int{}
	for _, mf := range mfs {
		count[mf.GetName()]++
	}
	for _, set := range sets {
		for _, name := range set.names {
			count[name]++
		}
	}
	p := &Page{}
	for _, set := range sets {
		switch {
		case set.perScrape || slices.ContainsFunc(set.names, func(name string) bool { return count[name] > 1 }):
			lists = append(lists, set.Families())
		case len(set.names) > 0:
			p.Sets = append(p.Sets, set)
		}
	}
	merged, mergeErr := mergeFamilies(lists)
	p.Families = merged
	return p, errors.Join(err, mergeErr)
}

// gather runs the scrape once. It returns the registry's families (the
// static collectors', the plain Collectors' and every collector's duration
// and success), and the FamilySets of FamilySetCollectors ordered by
// collector name.
func (g *Gathering) gather() ([]*dto.MetricFamily, []*FamilySet, error) {
	s := g.s
	s.mu.Lock()
	s.sets = nil
	s.mu.Unlock()
	// Gather calls s.Collect, which returns once every collector has
	// returned or been abandoned: s.sets is complete then.
	mfs, err := g.reg.Gather()
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.SortFunc(s.sets, func(a, b namedSet) int { return strings.Compare(a.name, b.name) })
	sets := make([]*FamilySet, len(s.sets))
	for i, ns := range s.sets {
		sets[i] = ns.set
	}
	return mfs, sets, err
}

// Warm runs every enabled collector as a scrape would, under ctx, and
// builds the encodings their FamilySets were asked to warm
// (FamilySet.WarmLike), so that the next scrape only copies them; a set
// made releasable then drops its families. Collectors run one at a time,
// each set warmed and released before the next collector builds: at 100k
// jobs the families of all collectors together are about 230 MB of heap,
// those of the largest alone a fraction of it, and Warm runs in the
// background, where taking longer costs nothing. Collectors' errors are
// logged as a scrape's are; encoding errors are returned.
func (r *Runner) Warm(ctx context.Context) error {
	var errs []error
	for _, name := range r.names {
		g, err := r.Gatherer(ctx, nil, name)
		if err != nil {
			return err
		}
		p, _ := g.GatherPage() // the collectors' errors, logged by the scrape
		for _, set := range p.Sets {
			errs = append(errs, set.Warm())
		}
	}
	return errors.Join(errs...)
}

// errDuplicateFamily is reported when two collectors build families of the
// same name that cannot be merged (different help or type).
var errDuplicateFamily = errors.New("metric family built by more than one collector with different help or type")

// mergeFamilies merges lists of families, each sorted by name, into one
// sorted list. A name in several lists (not the case in jobscope's
// collectors) gets one new family with the metrics of all, re-sorted.
func mergeFamilies(lists [][]*dto.MetricFamily) ([]*dto.MetricFamily, error) {
	var all []*dto.MetricFamily
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	out := all[:0]
	var errs []error
	for _, mf := range all {
		last := len(out) - 1
		if last < 0 || out[last].GetName() != mf.GetName() {
			out = append(out, mf)
			continue
		}
		prev := out[last]
		if prev.GetType() != mf.GetType() || prev.GetHelp() != mf.GetHelp() {
			errs = append(errs, fmt.Errorf("%s: %w", mf.GetName(), errDuplicateFamily))
			continue
		}
		// The inputs are shared and read-only: build a new family.
		merged := &dto.MetricFamily{Name: prev.Name, Help: prev.Help, Type: prev.Type, Unit: prev.Unit,
			Metric: append(slices.Clip(prev.Metric), mf.Metric...)}
		slices.SortStableFunc(merged.Metric, CompareMetrics)
		merged.Metric = slices.CompactFunc(merged.Metric, func(a, b *dto.Metric) bool {
			if CompareMetrics(a, b) == 0 && labelNamesEqual(a, b) {
				errs = append(errs, fmt.Errorf("%s: duplicate series %v", mf.GetName(), a.Label))
				return true
			}
			return false
		})
		out[last] = merged
	}
	return out, errors.Join(errs...)
}

func labelNamesEqual(a, b *dto.Metric) bool {
	for i, l := range a.Label {
		if l.GetName() != b.Label[i].GetName() {
			return false
		}
	}
	return true
}

type scrape struct {
	ctx        context.Context
	logger     *slog.Logger
	collectors map[string]Collector
	// takeSets is set on Runner.Gatherer's path: the FamilySets of
	// FamilySetCollectors are collected in sets instead of being sent.
	takeSets bool
	mu       sync.Mutex
	sets     []namedSet
}

type namedSet struct {
	name string
	set  *FamilySet
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

// run executes one collector and sends its duration and success.
func (s *scrape) run(name string, c Collector, ch chan<- prometheus.Metric) {
	start := time.Now()
	var err error
	if sc, ok := c.(FamilySetCollector); ok && s.takeSets {
		err = s.familySet(name, sc)
	} else {
		err = s.update(c, ch)
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

// familySet runs a FamilySetCollector on Runner.Gatherer's path, with the
// same deadline and panic handling as update.
func (s *scrape) familySet(name string, c FamilySetCollector) error {
	type result struct {
		set *FamilySet
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = recovering(func() (err error) {
			r.set, err = c.FamilySet(s.ctx)
			return err
		})
		if r.set == nil {
			r.set = &FamilySet{}
		}
		done <- r
	}()
	select {
	case r := <-done:
		s.mu.Lock()
		s.sets = append(s.sets, namedSet{name, r.set})
		s.mu.Unlock()
		return r.err
	case <-s.ctx.Done():
		return s.abandoned()
	}
}

// recovering calls f, turning a panic into an error: a collector's bug
// fails that collector, not the exporter.
func recovering(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("collector panicked: %v", p)
		}
	}()
	return f()
}

// abandoned is the error of a collector still running at the scrape's
// deadline.
func (s *scrape) abandoned() error {
	return fmt.Errorf("abandoned after scrape deadline: %w", s.ctx.Err())
}

// update runs a collector's Update. The collector writes to its own
// channel, which is forwarded to ch until the scrape's deadline: a collector
// that hangs (an NVML call stuck on a dying GPU) is abandoned, its late
// metrics drained and dropped, and it is reported as failed instead of
// holding up the scrape.
func (s *scrape) update(c Collector, ch chan<- prometheus.Metric) error {
	sink := make(chan prometheus.Metric)
	done := make(chan error, 1)
	go func() {
		defer close(sink)
		done <- recovering(func() error { return c.Update(s.ctx, sink) })
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
			err = s.abandoned()
			go func() {
				for range sink { //nolint:revive // drain the abandoned collector
				}
			}()
			break forward
		}
	}
	return err
}
