package infiniband

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"jobscope/test/testkit"
)

// The benchmarks run on a generated node of 8 ConnectX-7 HCAs, one 4X NDR
// port each with 21 counters/ and 32 hw_counters/ files, and on a node made
// of recorded files (recorded_test.go): docs/performance.md has the figures
// and the method.

const benchHCAs = 8

// benchConfigs are the ways the collector is measured: the default counter
// set; every file; and every counters/ file without hw_counters/, which is
// what node_exporter 1.5 reads (it has no hw_counters): the like-for-like
// comparison of the sysfs work.
var benchConfigs = []struct {
	name string
	cfg  Config
}{
	{"default", Config{}},
	{"all", Config{Counters: CountersAll}},
	{"node_exporter-files", Config{Counters: CountersAll, CounterExclude: strings.Join(mlx5HWCounters, "|")}},
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
	benchServer(b, url, pid, "node_infiniband_", "go_memstats_mallocs_total")
}

// BenchmarkJobscopeNodeHTTP is BenchmarkNodeExporterHTTP for the real
// jobscope binary, built from this tree: `jobscope node` with the
// infiniband collector alone, measured the same way (its process CPU from
// /proc/PID/stat, its allocations from its own Go runtime series), on both
// trees with the default counter set and with node_exporter's files.
func BenchmarkJobscopeNodeHTTP(b *testing.B) {
	bin := jobscopeBinary(b)
	for _, tree := range benchTrees {
		for _, bc := range benchConfigs {
			if bc.name == "all" {
				continue
			}
			b.Run(tree.name+"/"+bc.name, func(b *testing.B) {
				args := []string{"--path.sysfs=" + tree.write(b, b.TempDir())}
				if bc.cfg.Counters != "" {
					args = append(args, "--infiniband.counters="+bc.cfg.Counters)
				}
				if bc.cfg.CounterExclude != "" {
					args = append(args, "--infiniband.counter-exclude="+bc.cfg.CounterExclude)
				}
				url, pid := jobscopeNode(b, bin, args...)
				benchServer(b, url, pid, "jobscope_infiniband_", "go_memstats_mallocs_total")
			})
		}
	}
}

// jobscopeBinary builds cmd/jobscope once per benchmark run, or returns
// JOBSCOPE_BIN (another build to compare, e.g. an older commit's).
func jobscopeBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("JOBSCOPE_BIN"); p != "" {
		return p
	}
	return testkit.BuildJobscope(b)
}

// jobscopeNode runs `jobscope node` with the infiniband collector alone
// and returns its scrape URL and pid.
func jobscopeNode(b *testing.B, bin string, args ...string) (string, int) {
	b.Helper()
	addr := testkit.FreeAddr(b)
	args = append([]string{"node", "--web.listen-address=" + addr, "--gpu.backend=none",
		"--no-collector.gpu", "--no-collector.gpu-backend", "--no-collector.gpu-tenants",
		"--no-collector.job-energy", "--no-collector.job-host", "--no-collector.node-info"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr := &testkit.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		_ = cmd.Wait() // killed by the cancel: its exit status is expected
	})
	url := "http://" + addr + "/metrics"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			if cerr := resp.Body.Close(); cerr != nil {
				b.Fatal(cerr)
			}
			return url, cmd.Process.Pid
		}
	}
	b.Fatalf("jobscope node did not start on %s: %s", addr, stderr.String())
	return "", 0
}

// benchServer scrapes url b.N times, as Prometheus does (gzip accepted),
// and reports the server's CPU per scrape from /proc/PID/stat, its
// allocations per scrape from its own mallocs series, the page size and
// the series whose names start with prefix.
func benchServer(b *testing.B, url string, pid int, prefix, mallocs string) {
	client := &http.Client{Transport: &http.Transport{}} // gzip accepted and decoded
	get := func() string {
		resp, err := client.Get(url)
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
	if !strings.Contains(page, `_received_bytes_total{device="mlx5_7",port="1"}`) &&
		!strings.Contains(page, `_data_received_bytes_total{device="mlx5_7",port="1"}`) {
		b.Fatalf("the exporter did not read the tree:\n%s", page)
	}
	cpu0, mallocs0 := procCPUSeconds(b, pid), metricValue(b, page, mallocs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page = get()
	}
	b.StopTimer()
	cpu1, mallocs1 := procCPUSeconds(b, pid), metricValue(b, page, mallocs)
	b.ReportMetric((cpu1-cpu0)/float64(b.N)*1e6, "server-cpu-µs/op")
	b.ReportMetric((mallocs1-mallocs0)/float64(b.N), "server-allocs/op")
	b.ReportMetric(float64(len(page)), "page-bytes")
	b.ReportMetric(float64(seriesIn(page, prefix)), "series/op")
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
