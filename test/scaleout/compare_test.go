package scaleout

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// The comparison itself, without the engines: it must see a missing
// series, an extra label and a wrong value, and let summation-order noise
// and NaN = NaN pass.
func TestCompare(t *testing.T) {
	s := func(v float64, kv ...string) *model.Sample {
		m := model.Metric{}
		for i := 0; i < len(kv); i += 2 {
			m[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
		}
		return &model.Sample{Metric: m, Value: model.SampleValue(v)}
	}
	a := model.Vector{s(0.1+0.2, "job_id", "1"), s(math.NaN(), "job_id", "2")}
	for _, c := range []struct {
		name string
		b    model.Vector
		want string
	}{
		{"equal", model.Vector{s(0.3, "job_id", "1"), s(math.NaN(), "job_id", "2")}, ""},
		{"missing", model.Vector{s(0.3, "job_id", "1")}, "only in Prometheus: {job_id=\"2\"}"},
		{"extra label", model.Vector{s(0.3, "job_id", "1", "ruler", "x"), s(math.NaN(), "job_id", "2")}, "only in VictoriaMetrics: {job_id=\"1\", ruler=\"x\"}"},
		{"value", model.Vector{s(0.31, "job_id", "1"), s(math.NaN(), "job_id", "2")}, "Prometheus 0.3, VictoriaMetrics 0.31"},
	} {
		got := compare(a, c.b, true)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: compare = %q, want %q", c.name, got, c.want)
		}
	}
	// Labels only: a different value is no difference, a missing series is.
	if got := compare(a, model.Vector{s(0.31, "job_id", "1"), s(1, "job_id", "2")}, false); got != "" {
		t.Errorf("labels only, other values: %q", got)
	}
	if got := compare(a, model.Vector{s(0.3, "job_id", "1")}, false); got == "" {
		t.Error("labels only: a missing series passed")
	}
}
