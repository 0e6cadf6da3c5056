package collectors

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"jobscope/test/golden"
)

// TestFamilyBuilderMatchesRegistry builds the same samples with
// FamilyBuilder and with Emitter into a pedantic registry: the pages must be
// equal, sort order and UTF-8 repair included.
func TestFamilyBuilderMatchesRegistry(t *testing.T) {
	type family struct {
		fast   *FamilyDesc
		slow   *prometheus.Desc
		t      prometheus.ValueType
		labels int
	}
	// Label names deliberately not in sorted order.
	families := []family{
		{NewGaugeDesc("b_gauge", "A gauge.", "node", "job_id", "type"),
			prometheus.NewDesc("b_gauge", "A gauge.", []string{"node", "job_id", "type"}, nil), prometheus.GaugeValue, 3},
		{NewCounterDesc("a_total", "A counter.", "user"),
			prometheus.NewDesc("a_total", "A counter.", []string{"user"}, nil), prometheus.CounterValue, 1},
		{NewGaugeDesc("c_up", "No labels."), prometheus.NewDesc("c_up", "No labels.", nil, nil), prometheus.GaugeValue, 0},
		{NewGaugeDesc("d_empty", "Never added.", "x"), nil, prometheus.GaugeValue, -1},
	}
	words := []string{"", "a", "b", "node10", "node9", "Z", "bad\xffvalue", "bad\xff\xfevalue", "ü"}
	rng := rand.New(rand.NewPCG(1, 2))
	b := NewFamilyBuilder()
	ch := make(chan prometheus.Metric, 10000)
	e := NewEmitter(ch)
	seen := map[string]bool{}
	for range 2000 {
		f := families[rng.IntN(len(families)-1)]
		labels := make([]string, f.labels)
		for i := range labels {
			labels[i] = words[rng.IntN(len(words))]
		}
		// Both invalid values repair to the same; keep series unique.
		key := f.slow.String() + strings.ToValidUTF8(fmt.Sprint(labels), "?")
		if seen[key] {
			continue
		}
		seen[key] = true
		v := rng.Float64()
		b.Add(f.fast, v, append([]string(nil), labels...)...)
		e.send(f.slow, f.t, v, labels)
	}
	close(ch)
	fast, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(sliceCollector(metrics))
	slow, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(golden.Text(t, fast)), string(golden.Text(t, slow)); got != want {
		t.Errorf("FamilyBuilder page differs from the registry's:\n%s\nwant:\n%s", got, want)
	}
	if len(fast) != 3 {
		t.Errorf("%d families, want 3 (no empty one)", len(fast))
	}
}

func TestFamilyBuilderDropsBadSamples(t *testing.T) {
	d := NewGaugeDesc("x", "X.", "a", "b")
	b := NewFamilyBuilder()
	b.Add(d, 1, "1", "2")
	b.Add(d, 2, "1", "2") // duplicate series: the first is kept
	b.Add(d, 3, "only-one")
	b.Add(NewGaugeDesc("x", "X again.", "a"), 4, "1") // same name twice
	b.Add(NewGaugeDesc("bad-name", "Invalid."), 5)
	b.Add(NewGaugeDesc("y", "Label twice.", "a", "a"), 6, "1", "2")
	mfs, err := b.Build()
	if err == nil || !strings.HasPrefix(err.Error(), "5 metrics dropped") {
		t.Errorf("Build error = %v, want 5 dropped", err)
	}
	want := "# HELP x X.\n# TYPE x gauge\nx{a=\"1\",b=\"2\"} 1\n"
	if got := string(golden.Text(t, mfs)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestSendFamiliesChecksLabels: families that Runner.Scrape sends as const
// metrics get the registry's checks; a metric whose labels differ from the
// family's is dropped and reported.
func TestSendFamiliesChecksLabels(t *testing.T) {
	name, help, a, b, v := "x", "X.", "a", "b", 1.0
	pair := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: &n, Value: &v} }
	mf := &dto.MetricFamily{Name: &name, Help: &help, Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{
		{Label: []*dto.LabelPair{pair(a, "1")}, Gauge: &dto.Gauge{Value: &v}},
		{Label: []*dto.LabelPair{pair(b, "1")}, Gauge: &dto.Gauge{Value: &v}},
		{Label: []*dto.LabelPair{pair(a, "2"), pair(b, "2")}, Gauge: &dto.Gauge{Value: &v}},
	}}
	ch := make(chan prometheus.Metric, 3)
	err := SendFamilies(ch, []*dto.MetricFamily{mf})
	if len(ch) != 1 || err == nil || !strings.HasPrefix(err.Error(), "2 metrics dropped") {
		t.Errorf("sent %d metrics, err %v; want 1 sent, 2 dropped", len(ch), err)
	}
}

// sliceCollector is an unchecked collector of fixed metrics.
type sliceCollector []prometheus.Metric

func (sliceCollector) Describe(chan<- *prometheus.Desc) {}

func (c sliceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
