package golden

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetricsTable(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "b_ratio", Help: "A | B."}, []string{"z", "a"})
	g.WithLabelValues("1", "2").Set(1)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: "Counted."})
	reg.MustRegister(g, c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		families[mf.GetName()] = mf
	}
	want := "| metric | type | labels | help |\n|---|---|---|---|\n" +
		"| `a_total` | counter |  | Counted. |\n" +
		"| `b_ratio` | gauge | `a` `z` | A \\| B. |\n"
	if got := MetricsTable(families); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	LintGatherer(t, reg)
	Lint(t, Text(t, mfs))
}

func TestDiff(t *testing.T) {
	if got, want := Diff("a\nb\nc", "a\nc\nd"), "- b\n+ d\n"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}
