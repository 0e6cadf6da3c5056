package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/common/expfmt"

	"jobscope/collectors"
	"jobscope/collectors/node"
	"jobscope/gpu"
	"jobscope/gpu/gputest"
	gpunvml "jobscope/gpu/nvml"
	"jobscope/slurm/nodelocal"
	"jobscope/tenancy"
	"jobscope/test/loadgen"
)

// Benchmark node: 8 GPUs, 16 Slurm jobs (8 holding one GPU each through a
// prolog file, 8 CPU-only), 200 GPU processes (25 per GPU, each in its
// job's cgroup, on that job's GPU), and a cgroup v2 tree with the usual noise around them
// (100 system services, 20 user sessions).
const (
	benchGPUs  = 8
	benchJobs  = 16
	benchProcs = 200
)

// writeBenchTree writes the node's /proc, cgroup tree and prolog files
// (loadgen.WriteNodeTree, which the real binary's RSS benchmark in
// cmd/jobscope writes too), the jobs with the job-host collector's files
// as recorded (job_4 of the nodelocal v2 tree).
func writeBenchTree(t testing.TB, root string) {
	t.Helper()
	uuids := make([]string, benchGPUs)
	for i := range uuids {
		uuids[i] = gputest.UUID(i)
	}
	if err := loadgen.WriteNodeTree(root, loadgen.NodeConfig{GPUUUIDs: uuids, Jobs: benchJobs, Procs: benchProcs,
		JobFilesDir: "../../slurm/nodelocal/testdata/v2/cgroup/system.slice/slurmstepd.scope/job_4"}); err != nil {
		t.Fatal(err)
	}
}

func benchGPUSet() []gputest.GPU {
	gpus := make([]gputest.GPU, benchGPUs)
	for i := range gpus {
		gpus[i] = gputest.GPU{
			UUID: gputest.UUID(i), Name: "NVIDIA H100 80GB HBM3", BusID: busID(i), Minor: i,
			UtilGPU: 50, MemUsed: 40 << 30, MemTotal: 80 << 30, PowerMW: 500_000, LimitMW: 700_000,
			EnergyMJ: 1e9, TempC: 60, SMClockMHz: 1980, MemMHz: 2619, NVLinks: 18, XIDEvents: true,
		}
	}
	for p := 0; p < benchProcs; p++ {
		g := &gpus[p%benchGPUs]
		g.Processes = append(g.Processes, nvml.ProcessInfo{Pid: uint32(loadgen.NodeFirstPID + p), UsedGpuMemory: 1 << 30})
	}
	return gpus
}

type benchAgent struct {
	runner *collectors.Runner
	now    *time.Time
}

func newBenchAgent(b *testing.B) *benchAgent {
	root := b.TempDir()
	writeBenchTree(b, root)
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, benchGPUSet())
	now := time.Unix(1764400500, 0)
	clock := func() time.Time { return now }
	cache := gpu.NewCache(gpunvml.New(n.Lib, clock), time.Second, clock)
	r := &tenancy.Resolver{GPUs: cache.Snapshot, MaxAge: time.Second, Now: clock,
		Discovery: nodelocal.New(nodelocal.Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"),
			PrologDir: filepath.Join(root, "prolog"), FullWalkEvery: time.Minute, PIDTTL: time.Minute, Now: clock})}
	paths := node.Paths{ProcFS: filepath.Join(root, "proc"), SysFS: filepath.Join(root, "sys"), CgroupFS: filepath.Join(root, "cgroup"), RootFS: root}
	deps := node.Deps{Paths: paths, Now: clock, GPUBackend: "nvml", GPUs: cache.Snapshot, Tenancy: r.Resolve, Jobs: r.Jobs}
	set := collectors.NewSet[node.Deps]()
	node.Register(set, nil)
	runner, err := set.Build(deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return &benchAgent{runner: runner, now: &now}
}

// scrape is one full scrape as the exporter's /metrics handler does it
// (collectors/exporter): a gatherer per scrape, GatherPage (the families of
// FamilySetCollectors stay in their sets), the page written in the text
// format, gzip-compressed when gz (as Prometheus asks for it).
func (a *benchAgent) scrape(b *testing.B, buf *bytes.Buffer, gz bool) {
	// Every scrape reads NVML, /proc and the cgroups anew (caches expire).
	*a.now = a.now.Add(15 * time.Second)
	g, err := a.runner.Gatherer(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := g.GatherPage()
	if err != nil {
		b.Fatal(err)
	}
	buf.Reset()
	if err := p.Write(buf, expfmt.NewFormat(expfmt.TypeTextPlain), gz); err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPU is the CPU time the GC has taken so far (the runtime's estimate:
// mark workers and assists, pauses), the part of cpuTime that the heap
// target (GOGC) trades for memory.
func gcCPU() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// BenchmarkNodeScrape: CPU time and allocations of one full scrape of the
// node agent (nvml mock, Slurm discovery, join, energy) on the benchmark node.
func BenchmarkNodeScrape(b *testing.B) { benchNodeScrape(b, false) }

// BenchmarkNodeScrapeGzip is BenchmarkNodeScrape with the page
// gzip-compressed, as Prometheus asks for it; page-bytes is still the
// plain page's size.
func BenchmarkNodeScrapeGzip(b *testing.B) { benchNodeScrape(b, true) }

func benchNodeScrape(b *testing.B, gz bool) {
	a := newBenchAgent(b)
	var buf bytes.Buffer
	a.scrape(b, &buf, false) // the first full cgroup walk happens here
	if got := strings.Count(buf.String(), "\njobscope_gpu_tenant_info{"); got != benchGPUs {
		b.Fatalf("%d tenant series, want %d", got, benchGPUs)
	}
	if got := strings.Count(buf.String(), "\njobscope_job_gpus{"); got != benchJobs {
		b.Fatalf("%d jobs, want %d", got, benchJobs)
	}
	if got := strings.Count(buf.String(), "\njobscope_job_cpu_seconds_total{"); got != benchJobs {
		b.Fatalf("%d jobs with CPU seconds, want %d", got, benchJobs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, gcStart := cpuTime(), gcCPU()
	for i := 0; i < b.N; i++ {
		a.scrape(b, &buf, gz)
	}
	if gz {
		a.scrape(b, &buf, false) // page-bytes and series of the plain page
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(gcCPU()-gcStart)/float64(b.N), "gc-cpu-ns/op")
	b.ReportMetric(float64(buf.Len()), "page-bytes")
	b.ReportMetric(float64(strings.Count(buf.String(), "\n")-2*strings.Count(buf.String(), "\n# ")), "series")
}

// BenchmarkTenancyResolve: the Slurm and process attribution alone (no
// metrics), the part that touches /proc and the cgroup tree.
func BenchmarkTenancyResolve(b *testing.B) {
	root := b.TempDir()
	writeBenchTree(b, root)
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, benchGPUSet())
	snap, err := gpunvml.New(n.Lib, nil).Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	r := &tenancy.Resolver{
		GPUs: func(context.Context) (*gpu.Snapshot, error) { return snap, nil },
		Discovery: nodelocal.New(nodelocal.Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"),
			PrologDir: filepath.Join(root, "prolog"), FullWalkEvery: time.Hour, PIDTTL: time.Hour}),
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if v := r.Resolve(context.Background()); len(v.Jobs) != benchJobs {
			b.Fatalf("%d jobs", len(v.Jobs))
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
