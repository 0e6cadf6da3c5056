package main

import (
	"runtime/debug"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestNodeGCPercent: the agent runs at GOGC=50 (its page says so), unless
// the environment sets GOGC or GOMEMLIMIT, and restores the process's
// setting when it stops.
func TestNodeGCPercent(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"GOGC": "200"}, false},
		{map[string]string{"GOGC": "off", "GOMEMLIMIT": "20MiB"}, false},
		{map[string]string{"GOMEMLIMIT": "20MiB"}, false},
	} {
		got, ok := nodeGCPercent(func(k string) string { return c.env[k] })
		if ok != c.want || (ok && got != 50) {
			t.Errorf("env %v: GOGC %d, set %v; want set %v", c.env, got, ok, c.want)
		}
	}

	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	for _, c := range []struct {
		gogc string
		want int
	}{{"", 50}, {"100", before}} {
		t.Run("GOGC="+c.gogc, func(t *testing.T) {
			t.Setenv("GOGC", c.gogc)
			t.Setenv("GOMEMLIMIT", "")
			url := startNodeAgent(t, "--gpu.backend=simulated", "--path.sysfs="+t.TempDir())
			mfs := waitFor(t, url, func(m map[string]*dto.MetricFamily) bool { return m["go_gc_gogc_percent"] != nil })
			if got, _ := value(mfs, "go_gc_gogc_percent"); got != float64(c.want) {
				t.Errorf("go_gc_gogc_percent %v, want %d", got, c.want)
			}
		})
		if got := debug.SetGCPercent(before); got != before {
			t.Errorf("after the agent stopped GOGC is %d, want %d", got, before)
		}
	}
}
