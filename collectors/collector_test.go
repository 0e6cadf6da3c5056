package collectors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

func scrapeValues(t *testing.T, r *Runner, ctx context.Context, names ...string) map[string]float64 {
	t.Helper()
	c, err := r.Scrape(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
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
	})
	got := scrapeValues(t, r, context.Background())
	want := map[string]float64{
		"test_value|good":                          1,
		"test_value|broken-partial":                7, // partial data is kept
		"jobscope_scrape_collector_success|good":   1,
		"jobscope_scrape_collector_success|broken": 0,
		"jobscope_scrape_collector_success|panics": 0,
		"jobscope_scrape_collector_success|absent": 0,
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
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := scrapeValues(t, r, ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("scrape waited %v for a hung collector", took)
	}
	if got["jobscope_scrape_collector_success|hung"] != 0 || got["test_value|good"] != 1 {
		t.Errorf("unexpected values %v", got)
	}
}

func TestScrapeSelection(t *testing.T) {
	r := newTestSet(t, nil)
	got := scrapeValues(t, r, context.Background(), "good")
	if got["test_value|good"] != 1 {
		t.Errorf("selected collector missing: %v", got)
	}
	if _, err := r.Scrape(context.Background(), "off"); err == nil {
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
