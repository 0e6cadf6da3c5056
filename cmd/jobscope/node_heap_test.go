//go:build !jobscope_nodeonly

package main

import (
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

// TestNodeHeapProfile runs `jobscope node` in-process over the benchmark
// node (as BenchmarkNodeRSS does, --gpu.cache-age=0s), scrapes it 300 times with gzip, and
// writes a heap profile of every allocation (MemProfileRate 1; run with
// GODEBUG=memprofilerate=1 to include package initialisation) to
// $JOBSCOPE_NODE_HEAPPROFILE after a GC: inuse_space is what the agent
// keeps, alloc_space what its scrapes allocate. Skipped otherwise. The
// profile holds the test's own scraper too.
func TestNodeHeapProfile(t *testing.T) {
	out := os.Getenv("JOBSCOPE_NODE_HEAPPROFILE")
	if out == "" {
		t.Skip("JOBSCOPE_NODE_HEAPPROFILE not set")
	}
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	url := startNodeAgent(t, append(benchNodeArgs(t), "--gpu.cache-age=0s")...)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for range 300 {
		if _, err := scrapeGzip(client, url); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}
