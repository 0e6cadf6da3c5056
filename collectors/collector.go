// Package collectors is jobscope's collector framework: every exporter command
// (slurm, node) owns a Set of named collectors that can be switched with
// --collector.NAME / --no-collector.NAME. The framework, not the collectors,
// measures each collector's duration and success, runs them in parallel, and
// makes sure one failing or hung collector never fails the scrape or blanks
// the others.
//
// Collector packages live below this one (collectors/slurm, ...) and only map
// typed data to metrics.
//
// Two paths serve a scrape. Runner.Scrape is the plain client_golang one:
// every metric goes through channels into a registry, which checks each of
// them. Runner.Gatherer, which /metrics uses, runs the same collectors but
// takes ready-built families from a FamilyCollector as they are: the slurm
// collectors build 1M+ series once per poll, and sending, writing, hashing
// and sorting each of them again on every scrape cost seconds. A
// FamilySetCollector goes one step further: its FamilySet, shared by every
// scrape until the data changes, caches its encoded (and gzipped) part of
// the page, which /metrics writes as it is after the small part gathered
// for the scrape (Gathering.GatherPage, Page.Write). Tests gather
// FamilyCollectors through Runner.Scrape with a pedantic registry to keep
// the checks the fast path skips.
package collectors

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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

// FamilyCollector is a Collector that can also return its metrics as
// ready-built families, which Runner.Gatherer serves without handling each
// metric (see the package comment). Families are sorted by name, the
// metrics of each as prometheus.Registry sorts them (CompareMetrics), no
// family is empty, and each name belongs to this collector alone (a family
// of the same name from another collector is merged, at a cost). They may
// be shared between scrapes: nobody modifies them. The error means what
// Update's does; families returned with it are served. FamilyBuilder builds
// such families.
type FamilyCollector interface {
	Collector
	Families(ctx context.Context) ([]*dto.MetricFamily, error)
}

// FamiliesFunc adapts a function returning ready-built families to
// FamilyCollector; its Update sends them as const metrics.
type FamiliesFunc func(ctx context.Context) ([]*dto.MetricFamily, error)

// Families calls f.
func (f FamiliesFunc) Families(ctx context.Context) ([]*dto.MetricFamily, error) { return f(ctx) }

// Update sends f's families one metric at a time (Runner.Scrape's path).
func (f FamiliesFunc) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	mfs, err := f(ctx)
	return errors.Join(err, SendFamilies(ch, mfs))
}

// FamilySetCollector is a FamilyCollector that returns the same FamilySet
// to many scrapes while its data does not change (the slurm collectors:
// one per poll), so that /metrics can serve the set's cached encoding
// instead of encoding its families again (Page). The error means what
// Update's does; the set returned with it is served.
type FamilySetCollector interface {
	FamilyCollector
	FamilySet(ctx context.Context) (*FamilySet, error)
}

// FamilySetFunc adapts a function returning a FamilySet to
// FamilySetCollector.
type FamilySetFunc func(ctx context.Context) (*FamilySet, error)

// FamilySet calls f.
func (f FamilySetFunc) FamilySet(ctx context.Context) (*FamilySet, error) { return f(ctx) }

// Families returns the families of f's set.
func (f FamilySetFunc) Families(ctx context.Context) ([]*dto.MetricFamily, error) {
	set, err := f(ctx)
	return set.Families(), err
}

// Update sends f's families one metric at a time (Runner.Scrape's path).
func (f FamilySetFunc) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	mfs, err := f.Families(ctx)
	return errors.Join(err, SendFamilies(ch, mfs))
}

// FamilySet is one immutable result of a FamilySetCollector: families as
// FamilyCollector describes them, and their encoding per exposition format,
// plain or gzip-compressed, built on the first request for it and kept
// with the set. At 1.25M series the text page is 88 MB: encoding it took
// 0.35-0.6 s per scrape, compressing it 1-1.5 s more, for the same bytes
// until the next poll (see docs/performance.md).
type FamilySet struct {
	mfs []*dto.MetricFamily

	mu      sync.Mutex
	encoded map[encodingKey]*encodedFamilies
	// asked are the encodings scrapes asked for, warm those WarmLike
	// named.
	asked, warm []encodingKey
}

type encodingKey struct {
	format expfmt.Format
	gzip   bool
}

type encodedFamilies struct {
	once sync.Once
	b    []byte
	err  error
}

// NewFamilySet wraps families (see FamilyCollector) into a set.
func NewFamilySet(mfs []*dto.MetricFamily) *FamilySet {
	return &FamilySet{mfs: mfs}
}

// Families returns the set's families; nil for a nil set.
func (s *FamilySet) Families() []*dto.MetricFamily {
	if s == nil {
		return nil
	}
	return s.mfs
}

// textFormat is what Prometheus negotiates with jobscope's exporters
// (OpenMetrics is not offered), escaping included.
var textFormat = expfmt.NegotiateAccept(http.Header{}, expfmt.DefaultAcceptedFormats()...)

// WarmLike makes Warm build the encodings that scrapes asked of prev (the
// formats the scrapers of the previous poll negotiated), those prev warmed
// when no scrape came, or the gzipped text format for the first set. A
// format asked once (curl without gzip: 88 MB at 100k jobs) is thus not
// built again for every later poll.
func (s *FamilySet) WarmLike(prev *FamilySet) {
	var keys []encodingKey
	if prev != nil {
		prev.mu.Lock()
		keys = prev.asked
		if len(keys) == 0 {
			keys = prev.warm
		}
		prev.mu.Unlock()
	}
	if len(keys) == 0 {
		keys = []encodingKey{{textFormat, true}}
	}
	s.mu.Lock()
	s.warm = keys
	s.mu.Unlock()
}

// Warm builds the encodings WarmLike named, so that no scrape waits for
// them. It returns the first encoding error.
func (s *FamilySet) Warm() error {
	s.mu.Lock()
	keys := s.warm
	s.mu.Unlock()
	var errs []error
	for _, k := range keys {
		_, err := s.encoding(k, false)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cacheable reports whether a format's encoding of a set can be cached and
// written next to other families: each family's encoding stands alone
// (text, delimited protobuf), unlike OpenMetrics' final "# EOF".
func cacheable(f expfmt.Format) bool {
	t := f.FormatType()
	return t == expfmt.TypeTextPlain || t == expfmt.TypeProtoDelim
}

// encoding returns the set's families encoded as k asks, built once; a
// scrape asks for it. Like promhttp, a family that fails to encode is
// skipped and reported.
func (s *FamilySet) encoding(k encodingKey, scrape bool) ([]byte, error) {
	s.mu.Lock()
	if s.encoded == nil {
		s.encoded = map[encodingKey]*encodedFamilies{}
	}
	if scrape && !slices.Contains(s.asked, k) {
		s.asked = append(s.asked, k)
	}
	e, ok := s.encoded[k]
	if !ok {
		e = &encodedFamilies{}
		s.encoded[k] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		var buf bytes.Buffer
		var errs []error
		var w io.Writer = &buf
		var gz *gzip.Writer
		if k.gzip {
			gz = gzip.NewWriter(&buf)
			w = gz
		}
		enc := expfmt.NewEncoder(w, k.format)
		for _, mf := range s.mfs {
			if err := enc.Encode(mf); err != nil {
				errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
			}
		}
		if gz != nil {
			errs = append(errs, gz.Close())
		}
		// An exact-size copy: the buffer grew by doubling, and its slack
		// (up to 40 MB on an 88 MB page) would be kept with the set.
		e.b, e.err = bytes.Clone(buf.Bytes()), errors.Join(errs...)
	})
	return e.b, e.err
}

// gzipPool keeps the compressors of the fresh part of pages (about 800 KB
// of state each), as promhttp does.
var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// Page is one scrape as /metrics writes it (Gathering.GatherPage): the
// families gathered for this scrape, and the sets whose cached encoding
// follows them. Families of different collectors have different names, so
// the page is valid in any order of the parts; the text exposition does not
// order families, and delimited protobuf is a sequence of families.
type Page struct {
	Families []*dto.MetricFamily
	Sets     []*FamilySet
}

// Empty reports whether the page has no family.
func (p *Page) Empty() bool { return len(p.Families) == 0 && len(p.Sets) == 0 }

// Write writes the page to w in format, gzip-compressed when gz. The fresh
// families are encoded (and compressed) now; each set's encoding comes from
// its cache. A gzip page is then several gzip members, which RFC 1952
// allows and Go's gzip.Reader (Prometheus' scraper) reads as one stream.
// Formats whose encoding cannot be cached are encoded in one piece. Like
// promhttp, a family that fails to encode is skipped, and the errors are
// returned.
func (p *Page) Write(w io.Writer, format expfmt.Format, gz bool) error {
	fresh := p.Families
	if !cacheable(format) {
		for _, set := range p.Sets {
			fresh = append(fresh[:len(fresh):len(fresh)], set.mfs...)
		}
	}
	var errs []error
	out := w
	var zw *gzip.Writer
	if gz {
		zw = gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(zw)
		zw.Reset(w)
		out = zw
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range fresh {
		if err := enc.Encode(mf); err != nil {
			errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		errs = append(errs, c.Close())
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if !cacheable(format) {
		return errors.Join(errs...)
	}
	for _, set := range p.Sets {
		b, err := set.encoding(encodingKey{format, gz}, true)
		errs = append(errs, err)
		if _, err := w.Write(b); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return errors.Join(errs...)
}

// ErrUnknownCollector is returned by Runner.Scrape and Runner.Gatherer for
// a name that is not an enabled collector.
var ErrUnknownCollector = errors.New("unknown or disabled collector")

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
	return &scrape{ctx: ctx, logger: r.logger, collectors: run}, nil
}

// Gatherer returns the gatherer of one scrape: the static collectors (build
// info, Go runtime: registered afresh, so they are checked as usual) and the
// named collectors (all enabled ones when names is empty) under ctx, the
// families of FamilyCollectors taken as they are and merged in by name.
// Its Gather may return families with an error; serve them
// (promhttp.ContinueOnError), as a failing collector never blanks others.
// Its GatherPage leaves the families of FamilySetCollectors in their sets,
// so that /metrics writes their cached encoding (Page).
func (r *Runner) Gatherer(ctx context.Context, static []prometheus.Collector, names ...string) (*Gathering, error) {
	s, err := r.scrape(ctx, names)
	if err != nil {
		return nil, err
	}
	s.takeFamilies = true
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
	lists, sets, err := g.gather()
	setLists := make([][]*dto.MetricFamily, 0, len(sets)+len(lists))
	for _, set := range sets {
		setLists = append(setLists, set.mfs)
	}
	merged, mergeErr := mergeFamilies(append(setLists, lists...))
	return merged, errors.Join(err, mergeErr)
}

// GatherPage gathers like Gather, but the families of FamilySetCollectors
// stay in their sets, to be written from the sets' cached encoding. A set
// with a family name that another collector also has is merged as Gather
// does instead.
func (g *Gathering) GatherPage() (*Page, error) {
	lists, sets, err := g.gather()
	count := map[string]int{}
	for _, l := range lists {
		for _, mf := range l {
			count[mf.GetName()]++
		}
	}
	for _, set := range sets {
		for _, mf := range set.mfs {
			count[mf.GetName()]++
		}
	}
	p := &Page{}
	for _, set := range sets {
		switch {
		case slices.ContainsFunc(set.mfs, func(mf *dto.MetricFamily) bool { return count[mf.GetName()] > 1 }):
			lists = append(lists, set.mfs)
		case len(set.mfs) > 0:
			p.Sets = append(p.Sets, set)
		}
	}
	merged, mergeErr := mergeFamilies(lists)
	p.Families = merged
	return p, errors.Join(err, mergeErr)
}

// gather runs the scrape once. It returns the lists of families to merge
// (those of FamilyCollectors, then the registry's), and the FamilySets of
// FamilySetCollectors ordered by collector name.
func (g *Gathering) gather() ([][]*dto.MetricFamily, []*FamilySet, error) {
	s := g.s
	s.mu.Lock()
	s.prebuilt, s.sets = nil, nil
	s.mu.Unlock()
	// Gather calls s.Collect, which returns once every collector has
	// returned or been abandoned: s.prebuilt and s.sets are complete then.
	mfs, err := g.reg.Gather()
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.SortFunc(s.sets, func(a, b namedSet) int { return strings.Compare(a.name, b.name) })
	sets := make([]*FamilySet, len(s.sets))
	for i, ns := range s.sets {
		sets[i] = ns.set
	}
	return append(s.prebuilt, mfs), sets, err
}

// Warm runs every enabled collector as a scrape would, under ctx, and
// builds the encodings their FamilySets were asked to warm
// (FamilySet.WarmLike), so that the next scrape only copies them.
// Collectors' errors are logged as a scrape's are; encoding errors are
// returned.
func (r *Runner) Warm(ctx context.Context) error {
	g, err := r.Gatherer(ctx, nil)
	if err != nil {
		return err
	}
	p, _ := g.GatherPage() // the collectors' errors, logged by the scrape
	var errs []error
	for _, set := range p.Sets {
		errs = append(errs, set.Warm())
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
	// takeFamilies is set on Runner.Gatherer's path: the families of
	// FamilyCollectors are collected in prebuilt, the FamilySets of
	// FamilySetCollectors in sets, instead of being sent.
	takeFamilies bool
	mu           sync.Mutex
	prebuilt     [][]*dto.MetricFamily
	sets         []namedSet
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
	if fc, ok := c.(FamilyCollector); ok && s.takeFamilies {
		err = s.families(name, fc)
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

// families runs a FamilyCollector on Runner.Gatherer's path, with the same
// deadline and panic handling as update.
func (s *scrape) families(name string, c FamilyCollector) error {
	type result struct {
		mfs []*dto.MetricFamily
		set *FamilySet
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = recovering(func() (err error) {
			if sc, ok := c.(FamilySetCollector); ok {
				r.set, err = sc.FamilySet(s.ctx)
				if r.set == nil {
					r.set = &FamilySet{}
				}
				return err
			}
			r.mfs, err = c.Families(s.ctx)
			return err
		})
		done <- r
	}()
	select {
	case r := <-done:
		s.mu.Lock()
		if r.set != nil {
			s.sets = append(s.sets, namedSet{name, r.set})
		} else {
			s.prebuilt = append(s.prebuilt, r.mfs)
		}
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
