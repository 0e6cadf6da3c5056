package rest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jobscope/slurm/poller"
	"jobscope/test/loadgen"
)

// benchServer serves generated v0.0.44 bodies for a cluster of the given
// size from files (written once per benchmark), so the served bytes are not
// on the benchmark's heap and the peak heap is the client's alone. ping and
// shares come from the spec-generated fixtures.
func benchServer(b *testing.B, nodes, jobs int) *httptest.Server {
	b.Helper()
	dir := b.TempDir()
	cfg := loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs}
	if err := loadgen.WriteDir(dir, cfg, map[string]string{
		"ping":   "../openapi/testdata/specgen-v0.0.44_ping.json",
		"shares": "../openapi/testdata/specgen-v0.0.44_shares.json",
	}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(loadgen.Handler(dir))
	b.Cleanup(srv.Close)
	return srv
}

// heapPeak samples the bytes of heap objects (live and not yet swept) every
// 2 ms until stop is called, and returns the largest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak.Load()
	}
}

// BenchmarkPollToSnapshot is one full poll as `jobscope slurm` does it:
// poller.PollNow over a rest.Client (version forced to v0.0.44) against an
// HTTP server serving a generated cluster, until the snapshot is built. Each
// iteration uses a fresh client and poller (no update_time, nothing cached).
// peak-heap-MB is the largest heap (objects, live or not yet swept) seen
// during the polls, sampled every 2 ms; the heap before the first poll is a
// few MB.
func BenchmarkPollToSnapshot(b *testing.B) {
	for _, size := range []struct{ nodes, jobs int }{{1000, 10000}, {10000, 100000}} {
		b.Run(fmt.Sprintf("nodes=%d/jobs=%d", size.nodes, size.jobs), func(b *testing.B) {
			if size.jobs >= 100000 && testing.Short() {
				b.Skip("100k jobs skipped under -short")
			}
			srv := benchServer(b, size.nodes, size.jobs)
			runtime.GC()
			stop := heapPeak()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c, err := New(Options{URL: srv.URL, Version: "v0.0.44", DisableUpdateTime: true, Timeout: 10 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				p := poller.New(c, time.Hour, nil, poller.Options{Timeout: 10 * time.Minute})
				snap := p.PollNow(context.Background())
				for r, st := range snap.Resources {
					if !st.OK {
						b.Fatalf("%s: %v", r, st.Err)
					}
				}
				if len(snap.Jobs) != size.jobs || len(snap.Nodes) != size.nodes {
					b.Fatalf("%d jobs, %d nodes", len(snap.Jobs), len(snap.Nodes))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(stop())/1e6, "peak-heap-MB")
		})
	}
}
