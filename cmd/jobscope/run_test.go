package main

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/testkit"
)

// Helpers that run the binary's commands in-process, shared by the tests of
// every command (slurm_test.go is left out of the node-only build).

// startJobscope runs `jobscope command args...` in-process on a free port
// and returns its /metrics URL once it answers. The test's cleanup stops it
// and fails the test unless it exits 0.
func startJobscope(t *testing.T, command string, args ...string) string {
	t.Helper()
	addr := testkit.FreeAddr(t)
	args = append([]string{command, "--web.listen-address=" + addr}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("jobscope %s exited %d", command, code)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("jobscope %s did not stop", command)
		}
	})
	url := "http://" + addr + "/metrics"
	waitFor(t, url, func(map[string]*dto.MetricFamily) bool { return true })
	return url
}

// waitFor scrapes until cond holds (10 s at most).
func waitFor(t *testing.T, url string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs, _, err := testkit.Scrape(url)
		if err == nil && cond(mfs) {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in time (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}
