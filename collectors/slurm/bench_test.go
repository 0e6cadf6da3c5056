package slurm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/promslog"

	"jobscope/collectors"
	"jobscope/collectors/exporter"
	"jobscope/slurm"
	"jobscope/slurm/openapi"
	"jobscope/test/loadgen"
)

// eachClusterSize runs f as a sub-benchmark on a generated cluster of 1k
// nodes / 10k jobs and of 10k nodes / 100k jobs (skipped under -short).
func eachClusterSize(b *testing.B, f func(b *testing.B, snap *slurm.Snapshot)) {
	for _, size := range []struct{ nodes, jobs int }{{1000, 10000}, {10000, 100000}} {
		b.Run(fmt.Sprintf("nodes=%d/jobs=%d", size.nodes, size.jobs), func(b *testing.B) {
			if size.jobs >= 100000 && testing.Short() {
				b.Skip("100k jobs skipped under -short")
			}
			f(b, loadgenSnapshot(b, size.nodes, size.jobs))
		})
	}
}

// loadgenSnapshot decodes generated v0.0.44 payloads of a cluster of the
// given size into a snapshot as the poller builds it.
func loadgenSnapshot(b *testing.B, nodes, jobs int) *slurm.Snapshot {
	b.Helper()
	cfg := loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs}
	snap := &slurm.Snapshot{Taken: pollTime, Source: "rest", Resources: map[slurm.Resource]slurm.ResourceStatus{},
		Info: slurm.Info{Release: "25.05.1", APIVersion: "v0.0.44", Cluster: "loadgen"}}
	ok := func(r slurm.Resource, err error) {
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
// generated cluster as the exporter writes it: Runner.Gatherer, GatherPage,
// Page.Write in the text format. "prebuild" is what Prebuild does after a
// poll (a new snapshot pointer with the same data): the collectors build
// their families and the gzipped text encoding Prometheus will ask for;
// "first" is the first uncompressed scrape after a poll without it (build
// and encoding); "cached" a further scrape of the same snapshot, which
// reuses families and encoding; "cached-gzip" the same, gzip-compressed
// as Prometheus asks for it (page-MB is then the compressed size). It
// reports the page size and series count next to time and allocations,
// and for "prebuild" and "first" the heap the cache keeps.
func BenchmarkMetricsRender(b *testing.B) {
	eachClusterSize(b, func(b *testing.B, snap *slurm.Snapshot) {
		current := snap
		runner := newRunnerOf(b, func() *slurm.Snapshot { return current }, 0)
		var buf bytes.Buffer
		var series int
		var last *collectors.Page
		scrape := func(b *testing.B, compress bool) {
			g, err := runner.Gatherer(context.Background(), nil)
			if err != nil {
				b.Fatal(err)
			}
			p, err := g.GatherPage()
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if err := p.Write(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), compress); err != nil {
				b.Fatal(err)
			}
			last = p
		}
		// countSeries counts the last page's series, outside the timer:
		// a set whose families were released once encoded rebuilds
		// them to be counted (FamilySet.Families), which no scrape does.
		countSeries := func() {
			series = 0
			for _, mfs := range append([][]*dto.MetricFamily{last.Families}, setFamilies(last)...) {
				for _, mf := range mfs {
					series += len(mf.GetMetric())
				}
			}
		}
		prebuild := func(b *testing.B) {
			if err := runner.Warm(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		heap := func() float64 {
			// Twice: a sync.Pool (the decoder's job chunks) survives
			// one GC in its victim cache, which made the first
			// baseline too high and prebuild's cache-MB negative.
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapAlloc)
		}
		before := heap() // the snapshot, no families yet
		for _, run := range []struct {
			name              string
			prebuild, newSnap bool
			gzip              bool
		}{
			{name: "scrape=prebuild", prebuild: true, newSnap: true},
			{name: "scrape=first", newSnap: true},
			{name: "scrape=cached"},
			{name: "scrape=cached-gzip", gzip: true},
		} {
			b.Run(run.name, func(b *testing.B) {
				// Every build but the very first is sized by the one
				// before it (SizeLike), and the page buffer is grown once.
				if run.prebuild {
					prebuild(b)
				} else {
					scrape(b, run.gzip)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if run.newSnap {
						b.StopTimer()
						next := *snap // a new poll with the same data
						current = &next
						b.StartTimer()
					}
					if run.prebuild {
						prebuild(b)
					} else {
						scrape(b, run.gzip)
					}
				}
				if !run.prebuild {
					b.StopTimer()
					countSeries()
					b.ReportMetric(float64(buf.Len())/1e6, "page-MB")
					b.ReportMetric(float64(series), "series")
				}
				if run.newSnap {
					// What the cache keeps: the heap over the snapshot's,
					// less the page buffer.
					b.ReportMetric((heap()-before-float64(buf.Cap()))/1e6, "cache-MB")
				}
			})
		}
	})
}

func setFamilies(p *collectors.Page) [][]*dto.MetricFamily {
	var out [][]*dto.MetricFamily
	for _, s := range p.Sets {
		out = append(out, s.Families())
	}
	return out
}

// BenchmarkMetricsHTTP is a /metrics scrape end to end: the exporter's
// handler (exporter.New, as `jobscope slurm` serves it, with the Go and
// process collectors left out) behind a real HTTP server, read by a client
// to the end, uncompressed and with Accept-Encoding: gzip as Prometheus
// sends it (the body is then read compressed, as sent). One untimed scrape
// before each: it builds the families (and their encoding where cached).
// page-MB is what was sent.
func BenchmarkMetricsHTTP(b *testing.B) {
	eachClusterSize(b, func(b *testing.B, snap *slurm.Snapshot) {
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		runner := newRunner(b, snap, 0)
		path, maxRequests, offset, timeout := "/metrics", 40, 500*time.Millisecond, time.Minute
		srv, err := exporter.New(&exporter.Flags{TelemetryPath: &path, MaxRequests: &maxRequests,
			TimeoutOffset: &offset, DefaultTimeout: &timeout, Log: &promslog.Config{}}, logger,
			exporter.Config{Name: "bench", Runner: runner})
		if err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		for _, encoding := range []string{"identity", "gzip"} {
			b.Run("encoding="+encoding, func(b *testing.B) {
				var n int64
				get := func() {
					req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
					if err != nil {
						b.Fatal(err)
					}
					req.Header.Set("Accept-Encoding", encoding)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					defer resp.Body.Close()
					if n, err = io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d, %v", resp.StatusCode, err)
					}
				}
				get()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					get()
				}
				b.ReportMetric(float64(n)/1e6, "page-MB")
			})
		}
	})
}

// BenchmarkJobsCollector is the jobs collector alone building its families
// for a new poll of a generated cluster (each iteration a new snapshot, its
// jobs fetched a minute after the previous one's): the per-partition
// aggregates, pending reasons and the queue-wait state it keeps across polls.
func BenchmarkJobsCollector(b *testing.B) {
	eachClusterSize(b, func(b *testing.B, snap *slurm.Snapshot) {
		current := snap
		c, err := newJobsCollector(Deps{Snapshot: func() *slurm.Snapshot { return current }})
		if err != nil {
			b.Fatal(err)
		}
		sets := c.(collectors.FamilySetCollector)
		taken := snap.Taken
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			taken = taken.Add(time.Minute)
			next := *snap
			next.Taken = taken
			next.Resources = map[slurm.Resource]slurm.ResourceStatus{
				ResourceJobs: {OK: true, Duration: time.Second, LastSuccess: taken}}
			current = &next
			b.StartTimer()
			if _, err := sets.FamilySet(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
