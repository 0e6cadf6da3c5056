package collectors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
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

// testFamilyDesc is testDesc for FamilyCollectors: the same family, so
// that Runner.Gatherer has to merge it with the plain collectors' one.
var testFamilyDesc = NewGaugeDesc("test_value", "A test value.", "from")

// familyCollector is a FamilyCollector with one sample and the given error.
func familyCollector(from string, v float64, err error) Factory[struct{}] {
	return func(struct{}) (Collector, error) {
		return FamiliesFunc(func(context.Context) ([]*dto.MetricFamily, error) {
			b := NewFamilyBuilder()
			b.Add(testFamilyDesc, v, from)
			mfs, berr := b.Build()
			return mfs, errors.Join(err, berr)
		}), nil
	}
}

// scrapeValues gathers r both ways, through Runner.Scrape into a pedantic
// registry and through Runner.Gatherer, each under timeout, checks that both
// give the same (durations aside), and returns the values by name and label
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
	return got
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
		"families":        familyCollector("families", 3, nil),
		"families-broken": familyCollector("families-partial", 4, errors.New("source exploded")),
		"families-panics": func(struct{}) (Collector, error) {
			return FamiliesFunc(func(context.Context) ([]*dto.MetricFamily, error) { panic("bug") }), nil
		},
	})
	got := scrapeValues(t, r, time.Minute)
	want := map[string]float64{
		"test_value|good":                                   1,
		"test_value|broken-partial":                         7, // partial data is kept
		"test_value|families":                               3,
		"test_value|families-partial":                       4,
		"jobscope_scrape_collector_success|good":            1,
		"jobscope_scrape_collector_success|broken":          0,
		"jobscope_scrape_collector_success|panics":          0,
		"jobscope_scrape_collector_success|absent":          0,
		"jobscope_scrape_collector_success|families":        1,
		"jobscope_scrape_collector_success|families-broken": 0,
		"jobscope_scrape_collector_success|families-panics": 0,
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
		"hung-families": func(struct{}) (Collector, error) {
			return FamiliesFunc(func(context.Context) ([]*dto.MetricFamily, error) {
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
	if got["jobscope_scrape_collector_success|hung"] != 0 || got["jobscope_scrape_collector_success|hung-families"] != 0 ||
		got["test_value|good"] != 1 {
		t.Errorf("unexpected values %v", got)
	}
}

func TestScrapeSelection(t *testing.T) {
	r := newTestSet(t, map[string]Factory[struct{}]{"families": familyCollector("families", 3, nil)})
	got := scrapeValues(t, r, time.Minute, "good")
	if got["test_value|good"] != 1 {
		t.Errorf("selected collector missing: %v", got)
	}
	if _, ok := got["test_value|families"]; ok {
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
