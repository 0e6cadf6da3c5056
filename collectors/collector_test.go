package collectors

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"jobscope/test/testkit"
)

var testDesc = prometheus.NewDesc("test_value", "A test value.", []string{"from"}, nil)

func constCollector(from string, v float64) Factory[struct{}] {
	return func(struct{}) (Collector, error) {
		return CollectorFunc(func(_ context.Context, ch chan<- prometheus.Metric) error {
			NewEmitter(ch).Gauge(testDesc, v, from)
			return nil
		}), nil
	}
}

func newTestSet(t *testing.T, extra map[string]Factory[struct{}]) *Runner {
	t.Helper()
	set := NewSet[struct{}]()
	set.Register("good", true, "always works", constCollector("good", 1))
	set.Register("off", false, "disabled by default", constCollector("off", 2))
	for name, f := range extra {
		set.Register(name, true, name, f)
	}
	r, err := set.Build(struct{}{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testMergedDesc is testDesc for FamilySetCollectors: the same family, so
// that Runner.Gatherer has to merge it with the plain collectors' one.
var testMergedDesc = NewGaugeDesc("test_value", "A test value.", "from")

// testSetDesc is a family of FamilySetCollectors alone, so that its
// cached encoding is written as it is.
var testSetDesc = NewGaugeDesc("test_set_value", "A FamilySet's value.", "from")

// setCollector is a FamilySetCollector that returns one set, built once,
// with one sample of desc, and err.
func setCollector(desc *FamilyDesc, from string, v float64, err error) Factory[struct{}] {
	return func(struct{}) (Collector, error) {
		b := NewFamilyBuilder()
		b.Add(desc, v, from)
		mfs, berr := b.Build()
		set := NewFamilySet(mfs)
		return FamilySetFunc(func(context.Context) (*FamilySet, error) { return set, errors.Join(err, berr) }), nil
	}
}

// scrapeValues gathers r three ways, through Runner.Scrape into a pedantic
// registry, through Runner.Gatherer, and as /metrics writes it
// (Gathering.GatherPage) in text and protobuf, plain and gzip, each under
// timeout, checks that all give the same (durations aside), and returns the values by name and label
// values.
func scrapeValues(t *testing.T, r *Runner, timeout time.Duration, names ...string) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := r.Scrape(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	slow, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), timeout)
	defer cancel()
	g, err := r.Gatherer(ctx, nil, names...)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, fastValues := values(slow), values(fast)
	noDurations := func(k string, _ float64) bool {
		return strings.HasPrefix(k, "jobscope_scrape_collector_duration_seconds|")
	}
	want := maps.Clone(got)
	maps.DeleteFunc(want, noDurations)
	maps.DeleteFunc(fastValues, noDurations)
	if !maps.Equal(fastValues, want) {
		t.Errorf("Runner.Scrape gave %v, Runner.Gatherer %v", want, fastValues)
	}
	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		for _, gz := range []bool{false, true} {
			pageValues := values(pageFamilies(t, r, timeout, format, gz, names...))
			maps.DeleteFunc(pageValues, noDurations)
			if !maps.Equal(pageValues, want) {
				t.Errorf("Runner.Scrape gave %v, the %s page (gzip %v) %v", want, format, gz, pageValues)
			}
		}
	}
	return got
}

// pageFamilies writes the page of one scrape (Gathering.GatherPage,
// Page.Write) in format, gzip-compressed when gz, and decodes it as a
// scraper does; a family that appears twice fails the text parser.
func pageFamilies(t *testing.T, r *Runner, timeout time.Duration, format expfmt.Format, gz bool, names ...string) []*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	g, err := r.Gatherer(ctx, nil, names...)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := g.GatherPage() // the collectors' errors, checked through their success metric
	var buf bytes.Buffer
	if err := p.Write(&buf, format, gz); err != nil {
		t.Fatal(err)
	}
	var body io.Reader = &buf
	if gz {
		zr, err := gzip.NewReader(&buf) // multistream, as Prometheus reads it
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	mfs, err := testkit.DecodePage(body, format)
	if err != nil {
		t.Fatalf("%s page: %v", format, err)
	}
	return mfs
}

func values(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "|" + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestFailingCollectorDoesNotBlankOthers(t *testing.T) {
	r := newTestSet(t, map[string]Factory[struct{}]{
		"broken": func(struct{}) (Collector, error) {
			return CollectorFunc(func(_ context.Context, ch chan<- prometheus.Metric) error {
				NewEmitter(ch).Gauge(testDesc, 7, "broken-partial")
				return errors.New("source exploded")
			}), nil
		},
		"panics": func(struct{}) (Collector, error) {
			return CollectorFunc(func(context.Context, chan<- prometheus.Metric) error {
				panic("bug")
			}), nil
		},
		"absent": func(struct{}) (Collector, error) {
			return CollectorFunc(func(context.Context, chan<- prometheus.Metric) error { return ErrNoData }), nil
		},
		"set":        setCollector(testSetDesc, "set", 5, nil),
		"set-broken": setCollector(testSetDesc, "set-partial", 6, errors.New("source exploded")),
		"set-merged": setCollector(testMergedDesc, "set-merged", 8, nil),
		"set-panics": func(struct{}) (Collector, error) {
			return FamilySetFunc(func(context.Context) (*FamilySet, error) { panic("bug") }), nil
		},
	})
	got := scrapeValues(t, r, time.Minute)
	want := map[string]float64{
		"test_value|good":                              1,
		"test_value|broken-partial":                    7, // partial data is kept
		"jobscope_scrape_collector_success|good":       1,
		"jobscope_scrape_collector_success|broken":     0,
		"jobscope_scrape_collector_success|panics":     0,
		"jobscope_scrape_collector_success|absent":     0,
		"test_set_value|set":                           5,
		"test_set_value|set-partial":                   6,
		"test_value|set-merged":                        8, // merged with the other collectors' test_value
		"jobscope_scrape_collector_success|set":        1,
		"jobscope_scrape_collector_success|set-broken": 0,
		"jobscope_scrape_collector_success|set-merged": 1,
		"jobscope_scrape_collector_success|set-panics": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if _, ok := got["test_value|off"]; ok {
		t.Error("disabled collector ran")
	}
}

func TestHungCollectorIsAbandonedAtDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := newTestSet(t, map[string]Factory[struct{}]{
		"hung": func(struct{}) (Collector, error) {
			return CollectorFunc(func(_ context.Context, ch chan<- prometheus.Metric) error {
				<-release // ignores its context, like a stuck driver call
				NewEmitter(ch).Gauge(testDesc, 9, "late")
				return nil
			}), nil
		},
		"hung-set": func(struct{}) (Collector, error) {
			return FamilySetFunc(func(context.Context) (*FamilySet, error) {
				<-release
				return nil, nil
			}), nil
		},
	})
	start := time.Now()
	got := scrapeValues(t, r, 200*time.Millisecond)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("scrapes waited %v for hung collectors", took)
	}
	if got["jobscope_scrape_collector_success|hung"] != 0 || got["jobscope_scrape_collector_success|hung-set"] != 0 ||
		got["test_value|good"] != 1 {
		t.Errorf("unexpected values %v", got)
	}
}

func TestScrapeSelection(t *testing.T) {
	r := newTestSet(t, map[string]Factory[struct{}]{"set": setCollector(testSetDesc, "set", 5, nil)})
	got := scrapeValues(t, r, time.Minute, "good")
	if got["test_value|good"] != 1 {
		t.Errorf("selected collector missing: %v", got)
	}
	if _, ok := got["test_set_value|set"]; ok {
		t.Errorf("collector not selected ran: %v", got)
	}
	if _, err := r.Scrape(context.Background(), "off"); err == nil {
		t.Error("a disabled collector could be selected")
	}
	if _, err := r.Gatherer(context.Background(), nil, "off"); err == nil {
		t.Error("a disabled collector could be selected")
	}
}

func TestEmitterRepairsInvalidUTF8(t *testing.T) {
	ch := make(chan prometheus.Metric, 2)
	e := NewEmitter(ch)
	e.Gauge(testDesc, 1, "bad\xffname")
	e.Gauge(testDesc, 1, "a", "too-many-labels")
	close(ch)
	var n int
	for m := range ch {
		n++
		if got := testutil.ToFloat64(prometheus.CollectorFunc(func(c chan<- prometheus.Metric) { c <- m })); got != 1 {
			t.Errorf("value %v", got)
		}
	}
	if n != 1 {
		t.Fatalf("sent %d metrics, want 1", n)
	}
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "1 metrics dropped") {
		t.Errorf("Err() = %v", err)
	}
}

func TestDuplicateRegistrationPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	set := NewSet[struct{}]()
	set.Register("x", true, "", constCollector("x", 1))
	set.Register("x", true, "", constCollector("x", 1))
}

// TestFamilySetCachesEncoding: a set encodes each format once, and Warm
// builds the encodings scrapes asked of the previous set (gzipped text for
// the first set), or those it warmed when no scrape came.
func TestFamilySetCachesEncoding(t *testing.T) {
	b := NewFamilyBuilder()
	b.Add(testSetDesc, 1, "a")
	mfs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	keys := func(s *FamilySet) []encodingKey {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Collect(maps.Keys(s.encoded))
	}
	first := NewFamilySet(mfs)
	first.WarmLike(nil)
	if err := first.Warm(); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(first), []encodingKey{{textFormat, true}}; !slices.Equal(got, want) {
		t.Errorf("first set warmed %v, want %v", got, want)
	}
	proto := encodingKey{expfmt.NewFormat(expfmt.TypeProtoDelim), false}
	e1, err := first.encoding(proto, true)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := first.encoding(proto, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(e1) == 0 || &e1[0] != &e2[0] {
		t.Error("the encoding was built twice")
	}

	next := NewFamilySet(mfs)
	next.WarmLike(first)
	if err := next.Warm(); err != nil {
		t.Fatal(err)
	}
	got := keys(next)
	if want := []encodingKey{proto}; !slices.Equal(got, want) {
		t.Errorf("next set warmed %v, want %v (what scrapes asked of the first)", got, want)
	}
	unscraped := NewFamilySet(mfs)
	unscraped.WarmLike(next)
	if err := unscraped.Warm(); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(unscraped), []encodingKey{proto}; !slices.Equal(got, want) {
		t.Errorf("set after an unscraped one warmed %v, want %v", got, want)
	}
}

// TestReleasableFamilySet: Warm drops a releasable set's families once the
// encodings are built, and Families rebuilds them for a reader that needs
// them; a plain set keeps them.
func TestReleasableFamilySet(t *testing.T) {
	build := func() []*dto.MetricFamily {
		b := NewFamilyBuilder()
		b.Add(testSetDesc, 1, "a")
		b.Add(testSetDesc, 2, "b")
		mfs, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return mfs
	}
	rebuilds := 0
	s := NewReleasableFamilySet(build(), func() []*dto.MetricFamily { rebuilds++; return build() })
	s.WarmLike(nil)
	if err := s.Warm(); err != nil {
		t.Fatal(err)
	}
	if s.mfs != nil {
		t.Error("Warm kept the families of a releasable set")
	}
	mfs := s.Families()
	if rebuilds != 1 || len(mfs) != 1 || len(mfs[0].Metric) != 2 {
		t.Errorf("after release: %d rebuilds, families %v; want 1 rebuild and the 2 series", rebuilds, mfs)
	}
	var hinted FamilyBuilder
	hinted.SizeLikeSet(s)
	if n := hinted.hints[testSetDesc.name]; n != 2 {
		t.Errorf("a released set sizes the next build for %d series, want 2", n)
	}

	plain := NewFamilySet(build())
	plain.WarmLike(nil)
	if err := plain.Warm(); err != nil {
		t.Fatal(err)
	}
	if plain.mfs == nil {
		t.Error("Warm released the families of a set that cannot rebuild them")
	}
}

// TestStreamedTextEqualsEncoder: a streamed set's text encodings, written
// from the sorted samples in chunks without dto objects per series, are
// byte for byte what expfmt writes for the built families, plain and
// gzipped, with escapes, special values, repaired UTF-8, duplicates and a
// family smaller than, equal to and larger than a chunk.
func TestStreamedTextEqualsEncoder(t *testing.T) {
	defer func(prev int) { textChunk = prev }(textChunk)
	textChunk = 3
	add := func(b *FamilyBuilder) {
		g := NewGaugeDesc("b_gauge", "A gauge\\ with \"help\"\nacross lines.", "node", "job_id")
		c := NewCounterDesc("a_total", "A counter.", "user")
		u := NewGaugeDesc("c_up", "No labels.")
		e := NewGaugeDesc("d_three", "Exactly a chunk.", "x")
		values := []float64{0, 1, -1, 0.1, 1e300, math.Inf(1), math.Inf(-1), math.NaN(), 12345678}
		for i, v := range values {
			b.Add(g, v, fmt.Sprintf("node%d", 9-i), []string{"", "a\"b", "c\\d", "e\nf", "bad\xffvalue"}[i%5])
		}
		b.Add(g, 7, "node9", "") // duplicate: dropped, reported
		for i := range 7 {
			b.Add(c, float64(i), fmt.Sprint("user", i))
		}
		b.Add(u, 1)
		for i := range 3 {
			b.Add(e, 2, fmt.Sprint(i))
		}
		h := NewHistogramDesc("e_seconds", "A histogram.", []float64{1, 10}, "partition")
		for i := range 4 { // more than a chunk
			b.AddHistogram(h, uint64(3*i), float64(i)*1.5, []uint64{uint64(i), uint64(2 * i)}, fmt.Sprint("p", i))
		}
	}
	built := NewFamilyBuilder()
	add(built)
	mfs, buildErr := built.Build()
	if buildErr == nil {
		t.Fatal("the duplicate series was not reported")
	}
	for _, format := range []expfmt.Format{textFormat, expfmt.NewFormat(expfmt.TypeTextPlain)} {
		var want bytes.Buffer
		enc := expfmt.NewEncoder(&want, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		for _, gz := range []bool{false, true} {
			streamed := NewFamilyBuilder()
			add(streamed)
			s := NewStreamedFamilySet(streamed, nil)
			got, err := s.encoding(encodingKey{format, gz}, true)
			if err == nil || err.Error() != buildErr.Error() {
				t.Errorf("streamed error %v, want %v", err, buildErr)
			}
			if gz {
				zr, err := gzip.NewReader(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				if got, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s gzip=%v: streamed page\n%s\ndiffers from the encoder's\n%s", format, gz, got, want.Bytes())
			}
		}
	}
}

// TestPerScrape: the collectors of one scrape share what PerScrape loaded
// first, on both scrape paths; the next scrape loads again.
func TestPerScrape(t *testing.T) {
	type key struct{}
	var loads atomic.Int64
	load := func() int64 { return loads.Add(1) }
	names := []string{"a", "b", "c", "d"}
	extra := map[string]Factory[struct{}]{}
	for _, name := range names {
		extra[name] = func(struct{}) (Collector, error) {
			return CollectorFunc(func(ctx context.Context, ch chan<- prometheus.Metric) error {
				NewEmitter(ch).Gauge(testDesc, float64(PerScrape(ctx, key{}, load)), name)
				return nil
			}), nil
		}
	}
	r := newTestSet(t, extra)
	scrapes := map[string]func() prometheus.Gatherer{
		"Scrape": func() prometheus.Gatherer {
			c, err := r.Scrape(context.Background(), names...)
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			return reg
		},
		"Gatherer": func() prometheus.Gatherer {
			g, err := r.Gatherer(context.Background(), nil, names...)
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
	}
	for path, scrape := range scrapes {
		for range 2 {
			before := loads.Load()
			mfs, err := scrape().Gather()
			if err != nil {
				t.Fatal(err)
			}
			if n := loads.Load() - before; n != 1 {
				t.Errorf("%s: %d loads in one scrape, want 1", path, n)
			}
			want := float64(before + 1) // this scrape's load
			got := values(mfs)
			for _, name := range names {
				if v := got["test_value|"+name]; v != want {
					t.Errorf("%s: collector %s got load %v, want %v (one per scrape): %v", path, name, v, want, got)
				}
			}
		}
	}
	before := loads.Load()
	if v := PerScrape(context.Background(), key{}, load); v != before+1 {
		t.Errorf("outside a scrape: got load %d, want a new one (%d)", v, before+1)
	}
}

// TestScrapeFamilySetIsWrittenFresh: a set built for one scrape
// (NewScrapeFamilySet) is merged into the page's fresh families, sorted
// with them, and never gets a cached encoding; the page still reads as
// Runner.Scrape's.
func TestScrapeFamilySetIsWrittenFresh(t *testing.T) {
	var sets []*FamilySet
	r := newTestSet(t, map[string]Factory[struct{}]{
		"live": func(struct{}) (Collector, error) {
			return FamilySetFunc(func(context.Context) (*FamilySet, error) {
				b := NewFamilyBuilder()
				b.Add(testSetDesc, 3, "live")
				mfs, err := b.Build()
				s := NewScrapeFamilySet(mfs)
				sets = append(sets, s)
				return s, err
			}), nil
		},
	})
	g, err := r.Gatherer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.GatherPage()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sets) != 0 {
		t.Errorf("page has %d cached sets, want the scrape's set merged", len(p.Sets))
	}
	names := make([]string, len(p.Families))
	for i, mf := range p.Families {
		names[i] = mf.GetName()
	}
	if !slices.Contains(names, "test_set_value") || !slices.IsSorted(names) {
		t.Errorf("page families %v, want test_set_value among them, sorted", names)
	}
	for _, gz := range []bool{false, true} {
		if err := p.Write(io.Discard, textFormat, gz); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sets {
		if s.encoded != nil {
			t.Error("a per-scrape set cached an encoding")
		}
	}
	if got := scrapeValues(t, r, time.Second)["test_set_value|live"]; got != 3 {
		t.Errorf("test_set_value{from=\"live\"} = %v, want 3", got)
	}
}
