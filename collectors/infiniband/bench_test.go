package infiniband

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The benchmarks run on a generated node of 8 ConnectX-7 HCAs, one 4X NDR
// port each with 21 counters/ and 32 hw_counters/ files (docs/performance.md
// has the figures and the method).

const benchHCAs = 8

// benchConfigs are the two ways the collector is measured: reading
// everything, and skipping hw_counters/ by the counter filter, which reads
// what node_exporter 1.5 reads (it has no hw_counters): the like-for-like
// comparison of the sysfs work.
var benchConfigs = []struct {
	name string
	cfg  Config
}{
	{"all", Config{}},
	{"no-hw_counters", Config{CounterExclude: strings.Join(mlx5HWCounters, "|")}},
}

// BenchmarkCollectorUpdate is one scrape of the collector alone: read
// sysfs, build every metric.
func BenchmarkCollectorUpdate(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			g := writeGenTree(b, b.TempDir(), benchHCAs)
			c := newCollector(b, Options{SysFS: g.root, Config: bc.cfg, Jobs: func() []Job {
				return []Job{{ID: "1", GPUPCIBusIDs: []string{gpuBusID(0)}}}
			}})
			ch := make(chan prometheus.Metric, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			defer cpuPerOp(b)()
			n := 0
			for i := 0; i < b.N; i++ {
				if err := c.Update(context.Background(), ch); err != nil {
					b.Fatal(err)
				}
				n = len(ch)
				for len(ch) > 0 {
					<-ch
				}
			}
			b.ReportMetric(float64(n), "series/op")
		})
	}
}

// benchTrees are the trees the HTTP scrapes are measured on: the generated
// node and the recorded one (recorded_test.go).
var benchTrees = []struct {
	name  string
	write func(tb testing.TB, dir string) string
}{
	{"generated_8hca", func(tb testing.TB, dir string) string { return writeGenTree(tb, dir, benchHCAs).root }},
	{"recorded_8hca", writeRecordedTree},
}

// BenchmarkCollectorHTTP is one scrape as Prometheus does it: the HTTP
// handler gathers, sorts and encodes the page (no network), as
// node_exporter's figure below includes.
func BenchmarkCollectorHTTP(b *testing.B) {
	for _, tree := range benchTrees {
		for _, bc := range benchConfigs {
			b.Run(tree.name+"/"+bc.name, func(b *testing.B) {
				benchHTTP(b, tree.write(b, b.TempDir()), bc.cfg)
			})
		}
	}
}

func benchHTTP(b *testing.B, root string, cfg Config) {
	c := newCollector(b, Options{SysFS: root, Config: cfg})
	reg := prometheus.NewRegistry()
	if err := reg.Register(&adapter{c: c}); err != nil {
		b.Fatal(err)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	var page string
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		if i == b.N-1 {
			page = rec.Body.String()
		}
	}
	b.ReportMetric(float64(len(page)), "page-bytes")
	b.ReportMetric(float64(seriesIn(page, "")), "series/op")
}

// seriesIn counts the samples of a text page whose name starts with prefix.
func seriesIn(page, prefix string) int {
	n := 0
	for _, l := range strings.Split(page, "\n") {
		if l != "" && l[0] != '#' && strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// BenchmarkNodeExporterHTTP scrapes Debian's node_exporter, infiniband
// collector alone, on the same tree. Its CPU per scrape comes from
// /proc/PID/stat (utime+stime) over all b.N scrapes and its allocations
// from its own go_memstats_mallocs_total, so the benchmark's client side is
// not counted; ns/op is the client's wall time per scrape.
func BenchmarkNodeExporterHTTP(b *testing.B) {
	bin := nodeExporterBinary()
	if bin == "" {
		b.Skip("prometheus-node-exporter not installed: comparison skipped")
	}
	for _, tree := range benchTrees {
		b.Run(tree.name, func(b *testing.B) { benchNodeExporter(b, bin, tree.write(b, b.TempDir())) })
	}
}

func benchNodeExporter(b *testing.B, bin, root string) {
	url, pid, _ := nodeExporter(b, bin, root)
	get := func() string {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		return string(body)
	}
	page := get()
	if !strings.Contains(page, `node_infiniband_port_data_received_bytes_total{device="mlx5_7",port="1"}`) {
		b.Fatalf("node_exporter did not read the tree:\n%s", page)
	}
	cpu0, mallocs0 := procCPUSeconds(b, pid), metricValue(b, page, "go_memstats_mallocs_total")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page = get()
	}
	b.StopTimer()
	cpu1, mallocs1 := procCPUSeconds(b, pid), metricValue(b, page, "go_memstats_mallocs_total")
	b.ReportMetric((cpu1-cpu0)/float64(b.N)*1e6, "server-cpu-µs/op")
	b.ReportMetric((mallocs1-mallocs0)/float64(b.N), "server-allocs/op")
	b.ReportMetric(float64(len(page)), "page-bytes")
	b.ReportMetric(float64(seriesIn(page, "node_infiniband_")), "series/op")
}

// cpuPerOp reports this process's CPU time (user+system, GC included) per
// op: on a shared machine wall time per op mostly measures the neighbours.
// Call as defer cpuPerOp(b)() after ResetTimer.
func cpuPerOp(b *testing.B) func() {
	start := selfCPUSeconds(b)
	return func() {
		b.StopTimer()
		b.ReportMetric((selfCPUSeconds(b)-start)/float64(b.N)*1e6, "cpu-µs/op")
	}
}

func selfCPUSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// statFields splits /proc/PID/stat after the command name (which may hold
// spaces): fields[0] is the state, [1] the parent pid, [11] utime, [12] stime.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

func procCPUSeconds(tb testing.TB, pid int) float64 {
	tb.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := statFields(string(stat))
	if len(f) < 13 {
		tb.Fatalf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("bad /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return (u + s) / 100 // USER_HZ is 100 on Linux
}

func metricValue(tb testing.TB, page, name string) float64 {
	tb.Helper()
	for _, l := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return f
		}
	}
	tb.Fatalf("%s not in the page", name)
	return 0
}
