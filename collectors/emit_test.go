package collectors

import (
	"fmt"
	"math"
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
	slow := gatherPedantic(t, ch)
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

// TestHistogramMatchesRegistry: a histogram built by FamilyBuilder and
// sent by SendFamilies (Runner.Scrape's path) into a pedantic registry
// gives the page the builder encodes, and bad values are dropped.
func TestHistogramMatchesRegistry(t *testing.T) {
	d := NewHistogramDesc("wait_seconds", "Waits.", []float64{10, 60, 3600}, "partition", "qos")
	b := NewFamilyBuilder()
	b.AddHistogram(d, 5, 4000, []uint64{1, 3, 4}, "gpu", "normal")
	b.AddHistogram(d, 0, 0, []uint64{0, 0, 0}, "cpu", "bad\xffvalue")
	b.AddHistogram(d, 2, 1, []uint64{2, 1, 2}, "x", "decreasing")
	b.AddHistogram(d, 2, 1, []uint64{3, 3, 3}, "x", "over count")
	b.AddHistogram(d, 2, 1, []uint64{2, 2}, "x", "too few")
	b.Add(d, 1, "x", "a gauge sample")
	b.AddHistogram(NewGaugeDesc("g", "G."), 1, 1, nil)
	fast, err := b.Build()
	if err == nil || !strings.HasPrefix(err.Error(), "5 metrics dropped") {
		t.Errorf("Build error = %v, want 5 dropped", err)
	}
	ch := make(chan prometheus.Metric, 10)
	if err := SendFamilies(ch, fast); err != nil {
		t.Fatal(err)
	}
	close(ch)
	slow := gatherPedantic(t, ch)
	want := `# HELP wait_seconds Waits.
# TYPE wait_seconds histogram
wait_seconds_bucket{partition="cpu",qos="bad\uFFFDvalue",le="10"} 0
wait_seconds_bucket{partition="cpu",qos="bad\uFFFDvalue",le="60"} 0
wait_seconds_bucket{partition="cpu",qos="bad\uFFFDvalue",le="3600"} 0
wait_seconds_bucket{partition="cpu",qos="bad\uFFFDvalue",le="+Inf"} 0
wait_seconds_sum{partition="cpu",qos="bad\uFFFDvalue"} 0
wait_seconds_count{partition="cpu",qos="bad\uFFFDvalue"} 0
wait_seconds_bucket{partition="gpu",qos="normal",le="10"} 1
wait_seconds_bucket{partition="gpu",qos="normal",le="60"} 3
wait_seconds_bucket{partition="gpu",qos="normal",le="3600"} 4
wait_seconds_bucket{partition="gpu",qos="normal",le="+Inf"} 5
wait_seconds_sum{partition="gpu",qos="normal"} 4000
wait_seconds_count{partition="gpu",qos="normal"} 5
`
	want = strings.ReplaceAll(want, `\uFFFD`, "\uFFFD")
	for name, mfs := range map[string][]*dto.MetricFamily{"builder": fast, "registry": slow} {
		if got := string(golden.Text(t, mfs)); got != want {
			t.Errorf("%s page:\n%s\nwant:\n%s", name, got, want)
		}
	}
	for _, bad := range [][]float64{{1, 1}, {2, 1}, {1, math.Inf(1)}, {math.NaN()}} {
		if NewHistogramDesc("h", "H.", bad).err == nil {
			t.Errorf("buckets %v accepted", bad)
		}
	}
	if NewHistogramDesc("h", "H.", []float64{1}, "le").err == nil {
		t.Error("label le accepted")
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

// gatherPedantic gathers the metrics sent on the closed ch through a
// pedantic registry, as client_golang's own path would.
func gatherPedantic(t *testing.T, ch <-chan prometheus.Metric) []*dto.MetricFamily {
	t.Helper()
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(sliceCollector(metrics))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// sliceCollector is an unchecked collector of fixed metrics.
type sliceCollector []prometheus.Metric

func (sliceCollector) Describe(chan<- *prometheus.Desc) {}

func (c sliceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
