package infiniband

import (
	"io"
	"log/slog"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sampleRaw finds the first series of name whose labels include labels
// ("k=v" pairs) and has a gauge or counter value.
func sampleRaw(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			ok = ok && have[k] == v
		}
		if ok && m.Gauge != nil {
			return m.Gauge.GetValue(), true
		}
		if ok && m.Counter != nil {
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}
