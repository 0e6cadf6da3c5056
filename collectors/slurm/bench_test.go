package slurm

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"jobscope/collectors"
	"jobscope/slurm"
	"jobscope/slurm/openapi"
	"jobscope/test/loadgen"
)

// loadgenSnapshot decodes generated v0.0.44 payloads of a cluster of the
// given size into a snapshot as the poller builds it.
func loadgenSnapshot(b *testing.B, nodes, jobs int) *slurm.Snapshot {
	b.Helper()
	cfg := loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs}
	snap := &slurm.Snapshot{Taken: pollTime, Source: "rest", Resources: map[string]slurm.ResourceStatus{},
		Info: slurm.Info{Release: "25.05.1", APIVersion: "v0.0.44", Cluster: "loadgen"}}
	ok := func(r string, err error) {
		if err != nil {
			b.Fatalf("%s: %v", r, err)
		}
		snap.Resources[r] = slurm.ResourceStatus{OK: true, Duration: time.Second, LastSuccess: pollTime}
	}
	// Each payload is generated into a pipe and decoded as it is written,
	// so the 100k-job body (~780 MB) is never held in memory.
	decode := func(write func(io.Writer, loadgen.Config) error, read func(io.Reader) error) error {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(write(pw, cfg)) }()
		err := read(pr)
		pr.CloseWithError(err)
		return err
	}
	ok(ResourceInfo, nil)
	ok(ResourceJobs, decode(loadgen.WriteJobs, func(r io.Reader) (err error) {
		snap.Jobs, _, err = openapi.DecodeJobs(r)
		return err
	}))
	ok(ResourceNodes, decode(loadgen.WriteNodes, func(r io.Reader) (err error) {
		snap.Nodes, _, err = openapi.DecodeNodes(r)
		return err
	}))
	ok(ResourcePartitions, decode(loadgen.WritePartitions, func(r io.Reader) (err error) {
		snap.Partitions, _, err = openapi.DecodePartitions(r)
		return err
	}))
	ok(ResourceDiag, decode(loadgen.WriteDiag, func(r io.Reader) (err error) {
		snap.Diag, _, err = openapi.DecodeDiag(r)
		return err
	}))
	ok(ResourceShares, nil)
	if len(snap.Jobs) != jobs || len(snap.Nodes) != nodes {
		b.Fatalf("snapshot has %d jobs, %d nodes", len(snap.Jobs), len(snap.Nodes))
	}
	return snap
}

// BenchmarkMetricsRender is one /metrics page of every slurm collector over a
// generated cluster as the exporter serves it: Runner.Gatherer, Gather, and
// text encoding with expfmt. "first" is the first scrape after a poll (a new
// snapshot pointer with the same data, so the collectors build their
// families, as Prebuild does in the exporter); "cached" a further scrape of the same snapshot, which reuses
// them; "cached-gzip" the same, gzip-compressed as promhttp does when
// Prometheus asks for it (page-MB is then the compressed size). It reports the page size and series count next to time and
// allocations, and for "first" the heap the built families keep.
func BenchmarkMetricsRender(b *testing.B) {
	for _, size := range []struct{ nodes, jobs int }{{1000, 10000}, {10000, 100000}} {
		b.Run(fmt.Sprintf("nodes=%d/jobs=%d", size.nodes, size.jobs), func(b *testing.B) {
			if size.jobs >= 100000 && testing.Short() {
				b.Skip("100k jobs skipped under -short")
			}
			snap := loadgenSnapshot(b, size.nodes, size.jobs)
			current := snap
			set := collectors.NewSet[Deps]()
			Register(set)
			runner, err := set.Build(Deps{
				Snapshot: func() *slurm.Snapshot { return current },
				Now:      func() time.Time { return pollTime.Add(time.Minute) },
			}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			var series int
			scrape := func(b *testing.B, compress bool) {
				g, err := runner.Gatherer(context.Background(), nil)
				if err != nil {
					b.Fatal(err)
				}
				mfs, err := g.Gather()
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				var w io.Writer = &buf
				if compress {
					gz := gzip.NewWriter(&buf) // as promhttp does for Prometheus
					defer gz.Close()
					w = gz
				}
				enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
				series = 0
				for _, mf := range mfs {
					series += len(mf.GetMetric())
					if err := enc.Encode(mf); err != nil {
						b.Fatal(err)
					}
				}
			}
			heap := func() float64 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				return float64(ms.HeapAlloc)
			}
			before := heap() // the snapshot, no families yet
			for _, run := range []struct {
				name        string
				first, gzip bool
			}{{"scrape=first", true, false}, {"scrape=cached", false, false}, {"scrape=cached-gzip", false, true}} {
				b.Run(run.name, func(b *testing.B) {
					// Every build but the very first is sized by the one
					// before it (SizeLike), and the page buffer is grown once.
					scrape(b, false)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if run.first {
							b.StopTimer()
							next := *snap // a new poll with the same data
							current = &next
							b.StartTimer()
						}
						scrape(b, run.gzip)
					}
					b.ReportMetric(float64(buf.Len())/1e6, "page-MB")
					b.ReportMetric(float64(series), "series")
					if run.first {
						// What the cache keeps: the heap over the snapshot's,
						// less the page buffer.
						b.ReportMetric((heap()-before-float64(buf.Cap()))/1e6, "cache-MB")
					}
				})
			}
		})
	}
}
