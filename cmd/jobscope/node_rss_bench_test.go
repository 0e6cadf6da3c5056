//go:build !jobscope_nodeonly

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"jobscope/gpu/simulated"
	"jobscope/test/loadgen"
)

// nodeBinary is the binary BenchmarkNodeRSS runs `node` of:
// $JOBSCOPE_BENCH_NODE_BIN (e.g. a node-only build, `go build -tags
// jobscope_nodeonly`), else jobscopeBinary's.
func nodeBinary(b *testing.B) string {
	if bin := os.Getenv("JOBSCOPE_BENCH_NODE_BIN"); bin != "" {
		return bin
	}
	return jobscopeBinary(b)
}

// benchNode is the benchmark node of collectors/node's BenchmarkNodeScrape
// (8 GPUs, 16 Slurm jobs, 200 GPU processes, cgroup v2 with noise), its
// GPUs simulated with seed "bench", whose UUIDs the prolog files name.
const (
	benchNodeGPUs = 8
	benchNodeSeed = "bench"
)

// BenchmarkNodeRSS runs `jobscope node` over the benchmark node's tree,
// scrapes it as Prometheus does (gzip), and reports its memory from
// /proc/PID/status: VmRSS at its peak (sampled every 20 ms) and at the end,
// VmHWM, and the end's RssAnon and RssFile; after the first scrape the
// same as start-*; the Go heap in use and the GC's next target from its
// own page; and process CPU per scrape (the scrapes alone, start-up left
// out). Two ways:
//   - cache-age=0s, back to back: every collector of a scrape reads the
//     GPUs and resolves the tenants afresh (about 6 resolutions a scrape),
//     the most garbage per scrape; 300 scrapes and a long run of 3000;
//   - cache-age=100ms, one scrape every 110 ms: one reading a scrape, as
//     with the default --gpu.cache-age=2s and any scrape interval above
//     2 s (Prometheus' 15 s); 300 scrapes, about 35 s.
//
// -benchtime 1x; see docs/performance.md.
func BenchmarkNodeRSS(b *testing.B) {
	args := benchNodeArgs(b)
	bin := nodeBinary(b)
	for _, v := range []struct {
		scrapes  int
		cacheAge string
		pace     time.Duration
	}{{300, "0s", 0}, {300, "100ms", 110 * time.Millisecond}, {3000, "0s", 0}} {
		b.Run(fmt.Sprintf("scrapes=%d/cache-age=%s", v.scrapes, v.cacheAge), func(b *testing.B) {
			if v.scrapes > 300 && testing.Short() {
				b.Skip("the long run is skipped under -short")
			}
			for b.Loop() {
				nodeRSS(b, bin, append(args, "--gpu.cache-age="+v.cacheAge), v.scrapes, v.pace)
			}
		})
	}
}

// benchNodeArgs writes the benchmark node's tree (loadgen.WriteNodeTree,
// the jobs with the job-host collector's files as recorded) and returns
// the flags of `jobscope node` over it.
func benchNodeArgs(tb testing.TB) []string {
	root := tb.TempDir()
	uuids := make([]string, benchNodeGPUs)
	for i := range uuids {
		uuids[i] = simulated.UUID(benchNodeSeed, i)
	}
	if err := loadgen.WriteNodeTree(root, loadgen.NodeConfig{GPUUUIDs: uuids,
		JobFilesDir: "../../slurm/nodelocal/testdata/v2/cgroup/system.slice/slurmstepd.scope/job_4"}); err != nil {
		tb.Fatal(err)
	}
	return []string{"--gpu.backend=simulated", fmt.Sprintf("--gpu.simulated-count=%d", benchNodeGPUs),
		"--gpu.simulated-seed=" + benchNodeSeed,
		"--path.procfs=" + filepath.Join(root, "proc"), "--path.cgroupfs=" + filepath.Join(root, "cgroup"),
		"--path.sysfs=" + filepath.Join(root, "sys"), "--path.rootfs=" + root, "--slurm.prolog-dir=/prolog"}
}

func nodeRSS(b *testing.B, bin string, args []string, scrapes int, pace time.Duration) {
	p := startProcess(b, bin, "node", args...)
	pid := p.cmd.Process.Pid
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	// The first scrape (once it listens) checks that the tree is what the
	// agent sees: every GPU held by its job.
	var tenants int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mfs, err := scrapeFamilies(client, p.url, "jobscope_gpu_tenant_info")
		if err == nil {
			tenants = len(mfs["jobscope_gpu_tenant_info"].GetMetric())
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("jobscope node did not answer: %v", err)
		}
	}
	if tenants != benchNodeGPUs {
		b.Fatalf("%d GPUs with a tenant, want %d: the tree's prolog files do not name the simulated GPUs", tenants, benchNodeGPUs)
	}
	start, err := procMemory(pid)
	if err != nil {
		b.Fatal(err)
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s sampler
	go s.run(ctx, pid)
	var gz int64
	for range scrapes {
		n, err := scrapeGzip(client, p.url)
		if err != nil {
			b.Fatal(err)
		}
		gz = n
		time.Sleep(pace)
	}
	peak, err := s.take()
	if err != nil {
		b.Fatal(err)
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	end, err := procMemory(pid)
	if err != nil {
		b.Fatal(err)
	}
	self, err := selfMetrics(client, p.url, "go_memstats_heap_alloc_bytes", "go_memstats_next_gc_bytes",
		"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
		"go_memstats_stack_inuse_bytes", "go_memstats_buck_hash_sys_bytes", "go_memstats_sys_bytes")
	if err != nil {
		b.Fatal(err)
	}
	cpuMS := (cpu1 - cpu0) * 1000 / float64(scrapes)
	b.Logf("%s: start VmRSS %.1f MiB (anon %.1f, file %.1f); after %d scrapes (%.1f KB gzip each) VmRSS %.1f MiB (anon %.1f, file %.1f), peak %.1f, VmHWM %.1f; "+
		"heap alloc %.1f MiB, inuse %.1f, idle %.1f (released %.1f), next GC %.1f, stacks %.1f, profile buckets %.1f, runtime sys %.1f; CPU %.2f ms a scrape",
		bin, float64(start.RSS)/mb, float64(start.Anon)/mb, float64(start.File)/mb, scrapes, float64(gz)/1024,
		float64(end.RSS)/mb, float64(end.Anon)/mb, float64(end.File)/mb, float64(peak)/mb, float64(end.HWM)/mb,
		self["go_memstats_heap_alloc_bytes"]/mb, self["go_memstats_heap_inuse_bytes"]/mb, self["go_memstats_heap_idle_bytes"]/mb,
		self["go_memstats_heap_released_bytes"]/mb, self["go_memstats_next_gc_bytes"]/mb, self["go_memstats_stack_inuse_bytes"]/mb,
		self["go_memstats_buck_hash_sys_bytes"]/mb, self["go_memstats_sys_bytes"]/mb, cpuMS)
	for _, m := range []struct {
		name string
		v    float64
	}{
		{"start-rss-MiB", float64(start.RSS) / mb}, {"start-anon-MiB", float64(start.Anon) / mb},
		{"peak-rss-MiB", float64(peak) / mb}, {"rss-MiB", float64(end.RSS) / mb}, {"hwm-MiB", float64(end.HWM) / mb},
		{"anon-MiB", float64(end.Anon) / mb}, {"file-MiB", float64(end.File) / mb},
		{"heap-MiB", self["go_memstats_heap_alloc_bytes"] / mb}, {"next-gc-MiB", self["go_memstats_next_gc_bytes"] / mb},
		{"cpu-ms/scrape", cpuMS},
	} {
		b.ReportMetric(m.v, m.name)
	}
}
