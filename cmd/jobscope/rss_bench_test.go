//go:build !jobscope_nodeonly

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/loadgen"
	"jobscope/test/testkit"
)

// These benchmarks run the real binary (`go build` of this package) as its
// own process against a fake slurmrestd serving loadgen's bodies from
// files, and read the process's memory from /proc/PID/status, as an
// operator would see it: Go's heap figures leave out what the runtime has
// not returned to the OS. They measure memory over time, not speed; run
// them with -benchtime 1x (see docs/performance.md).

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// jobscopeBinary builds the binary once per test process, or returns
// $JOBSCOPE_BENCH_BIN (another build to compare with). nodeBinary may
// name another for `jobscope node`.
func jobscopeBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("JOBSCOPE_BENCH_BIN"); bin != "" {
		return bin
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jobscope-bench-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "jobscope")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// benchBodies writes loadgen's v0.0.44 bodies of a cluster (seed 1) and
// the recorded ping and shares answers into a directory kept in
// os.TempDir between runs (the 100k-jobs body takes minutes to write on a
// busy VM); a marker file says it is complete.
func benchBodies(b *testing.B, nodes, jobs int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("jobscope-bench-v0.0.44-%d-%d", nodes, jobs))
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg := loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs}
	if err := loadgen.WriteDir(dir, cfg, map[string]string{
		"ping":   filepath.Join("testdata", "rest-v0.0.44", "ping.json"),
		"shares": filepath.Join("testdata", "rest-v0.0.44", "shares.json"),
	}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchRestd is fakeRestd serving large bodies from their files (not read
// into the benchmark's memory) and counting the jobs requests, one per
// poll.
type benchRestd struct {
	fakeRestd
	jobsRequests atomic.Int64
	// lastJobs is when the last jobs request came (Unix nanoseconds).
	lastJobs atomic.Int64
}

// pollState says where the polls stand, for a failed scrape's message:
// how many jobs requests came and how long ago the last one did.
func (f *benchRestd) pollState() string {
	n := f.jobsRequests.Load()
	if n == 0 {
		return "before the first poll"
	}
	return fmt.Sprintf("poll %d started %s before", n, time.Since(time.Unix(0, f.lastJobs.Load())).Round(time.Millisecond))
}

func (f *benchRestd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	name, ok := strings.CutPrefix(strings.Trim(r.URL.Path, "/"), "slurm/"+f.version+"/")
	if name == "jobs" {
		f.lastJobs.Store(time.Now().UnixNano())
		f.jobsRequests.Add(1)
	}
	if !ok || mode != "" || r.Header.Get("X-SLURM-USER-TOKEN") != testToken {
		f.fakeRestd.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeFile(w, r, filepath.Join(f.dir, name+".json"))
}

// procMem is a process's memory as /proc/PID/status reports it, in bytes:
// resident now (RSS, split into anonymous and file-backed pages) and at
// its peak (HWM).
type procMem struct {
	RSS, HWM, Anon, File uint64
}

// procMemory reads a process's procMem.
func procMemory(pid int) (procMem, error) {
	var m procMem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || fields[k] == nil {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", line, err)
		}
		*fields[k] = kb << 10
	}
	return m, nil
}

// procCPU is a process's user + system CPU time so far
// (/proc/PID/stat utime and stime, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	var ticks float64
	for _, s := range f[11:13] {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return ticks / 100, nil
}

// benchProcess is one jobscope command under benchmark.
type benchProcess struct {
	cmd *exec.Cmd
	url string
}

// memory reads the process's memory from /proc and its Go heap (bytes)
// and goroutines from its own page.
func (p *benchProcess) memory(b *testing.B, client *http.Client) (mem procMem, heap, goroutines float64) {
	b.Helper()
	mem, err := procMemory(p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	self, err := selfMetrics(client, p.url, "go_memstats_heap_alloc_bytes", "go_goroutines")
	if err != nil {
		b.Fatal(err)
	}
	return mem, self["go_memstats_heap_alloc_bytes"], self["go_goroutines"]
}

// startProcess runs bin's command (slurm, node) listening on a free
// loopback port, with args and $JOBSCOPE_BENCH_ARGS (more flags:
// --runtime.memory-limit=0, ...), and stops it with SIGINT at the end. It
// returns once the process answers /-/healthy: the first scrape, sent
// right after the exec, came before the process had bound its port
// (connection refused) and was counted as a failed scrape in every run,
// though nothing served had failed.
func startProcess(b *testing.B, bin, command string, args ...string) *benchProcess {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args = append(args, strings.Fields(os.Getenv("JOBSCOPE_BENCH_ARGS"))...)
	cmd := exec.Command(bin, append([]string{command, "--web.listen-address=" + addr, "--log.level=error"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			b.Errorf("jobscope %s did not stop on SIGINT", command)
		}
	})
	waitHealthy(b, "http://"+addr+"/-/healthy", 30*time.Second)
	return &benchProcess{cmd: cmd, url: "http://" + addr + "/metrics"}
}

// waitHealthy waits until url answers 200, or fails after limit.
func waitHealthy(b *testing.B, url string, limit time.Duration) {
	b.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not answer within %s: %v", url, limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startBinary runs `jobscope slurm` against the fake slurmrestd at restdURL.
func startBinary(b *testing.B, restdURL string, args ...string) *benchProcess {
	b.Helper()
	tokenFile := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return startProcess(b, jobscopeBinary(b), "slurm", append([]string{
		"--slurm.rest-url=" + restdURL,
		"--slurm.token-file=" + tokenFile,
	}, args...)...)
}

// scrapeGzip scrapes as Prometheus does (gzip) and reads the body to the
// end; it returns the compressed size.
func scrapeGzip(client *http.Client, url string) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return n, err
}

// selfMetrics scrapes the process's page and returns the first value of
// each of the named gauges (its own Go runtime figures).
func selfMetrics(client *http.Client, url string, names ...string) (map[string]float64, error) {
	mfs, err := scrapeFamilies(client, url, names...)
	if err != nil {
		return nil, err
	}
	v := map[string]float64{}
	for _, name := range names {
		mf, ok := mfs[name]
		if !ok || len(mf.GetMetric()) == 0 {
			return nil, fmt.Errorf("%s missing from the page", name)
		}
		v[name] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	return v, nil
}

// scrapeFamilies scrapes url (gzip) and parses the named families.
func scrapeFamilies(client *http.Client, url string, names ...string) (map[string]*dto.MetricFamily, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	// The transport only decompresses what it asked for itself.
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	// Only the lines of the named families: the whole slurm page is
	// hundreds of MB parsed.
	var small bytes.Buffer
	for line := range bytes.Lines(body) {
		for _, name := range names {
			if bytes.Contains(line, []byte(name)) {
				small.Write(line)
				break
			}
		}
	}
	return testkit.ParsePage(&small)
}

// sampler reads the process's VmRSS every 20 ms and keeps the largest value
// since the last reset.
type sampler struct {
	mu   sync.Mutex
	peak uint64
	err  error
	// from is the last reset, at when the peak since was read: where in a
	// poll cycle the peak comes says what makes it.
	from, at time.Time
}

func (s *sampler) run(ctx context.Context, pid int) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		m, err := procMemory(pid)
		s.mu.Lock()
		if err != nil && s.err == nil && ctx.Err() == nil {
			s.err = err
		}
		if m.RSS > s.peak {
			s.peak, s.at = m.RSS, time.Now()
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take returns the peak since the last take and resets it.
func (s *sampler) take() (uint64, error) {
	p, _, err := s.takeAt()
	return p, err
}

// takeAt is take that also says how long after the last take the peak
// came.
func (s *sampler) takeAt() (uint64, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, at, err := s.peak, s.at.Sub(s.from), s.err
	s.peak, s.from = 0, time.Now()
	return p, at, err
}

// waitRequests waits until the fake slurmrestd has been asked for jobs n
// times, or fails after limit.
func waitRequests(b *testing.B, f *benchRestd, n int64, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for f.jobsRequests.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("poll %d did not start within %s", n, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mb is a mebibyte, 2^20 bytes (/proc/PID/status's kB are KiB): every
// figure these benchmarks report is in MiB and labelled so. A target
// stated in decimal MB is 0.954 of it in MiB (250 MB = 238.4 MiB).
const mb = 1 << 20

// BenchmarkSlurmRSS runs `jobscope slurm` against a generated cluster for
// a number of polls while a scraper asks for /metrics (gzip, as Prometheus)
// every second, and reports its resident memory: the peak of each poll
// cycle (from the start of one jobs request to the start of the next,
// VmRSS sampled every 20 ms), the RSS at the end of the last cycle, and
// VmHWM (the kernel's own peak) at the end. -benchtime 1x.
func BenchmarkSlurmRSS(b *testing.B) {
	for _, size := range []struct {
		nodes, jobs int
		interval    string
	}{{1000, 10000, "2s"}, {10000, 100000, "20s"}} {
		b.Run(fmt.Sprintf("nodes=%d/jobs=%d", size.nodes, size.jobs), func(b *testing.B) {
			if size.jobs >= 100000 && testing.Short() {
				b.Skip("100k jobs skipped under -short")
			}
			const polls = 5
			dir := benchBodies(b, size.nodes, size.jobs)
			restd := &benchRestd{fakeRestd: fakeRestd{dir: dir, version: "v0.0.44"}}
			srv := httptest.NewServer(restd)
			b.Cleanup(srv.Close)
			for b.Loop() {
				restd.jobsRequests.Store(0)
				p := startBinary(b, srv.URL, "--slurm.poll-interval="+size.interval, "--slurm.poll-timeout=5m",
					"--slurm.request-timeout=5m", "--web.scrape-timeout=5m")
				ctx, cancel := context.WithCancel(context.Background())
				var s sampler
				go s.run(ctx, p.cmd.Process.Pid)
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				// Every scrape must succeed: a failure is one Prometheus
				// would record as up 0. Each is reported with when it came
				// and what the polls were doing.
				var scrapes, scrapeErrs atomic.Int64
				var slowest atomic.Int64
				var wg sync.WaitGroup
				started := time.Now()
				wg.Go(func() {
					for ctx.Err() == nil {
						t0 := time.Now()
						_, err := scrapeGzip(client, p.url)
						took := time.Since(t0)
						if err != nil && ctx.Err() == nil {
							scrapeErrs.Add(1)
							b.Errorf("scrape %s after the start (%s), %s: %v",
								t0.Sub(started).Round(time.Millisecond), restd.pollState(), took.Round(time.Millisecond), err)
						} else if err == nil {
							scrapes.Add(1)
							if took > time.Duration(slowest.Load()) {
								slowest.Store(int64(took))
							}
						}
						select {
						case <-ctx.Done():
						case <-time.After(time.Second):
						}
					}
				})
				var cycle []uint64
				var cycleAt []time.Duration
				waitRequests(b, restd, 1, time.Minute)
				s.take()
				for i := 2; i <= polls+1; i++ {
					waitRequests(b, restd, int64(i), 10*time.Minute)
					peak, at, err := s.takeAt()
					if err != nil {
						b.Fatal(err)
					}
					cycle, cycleAt = append(cycle, peak), append(cycleAt, at)
				}
				mem, heap, goroutines := p.memory(b, client)
				rss, hwm := mem.RSS, mem.HWM
				cpu, err := procCPU(p.cmd.Process.Pid)
				if err != nil {
					b.Fatal(err)
				}
				cancel()
				wg.Wait()
				var parts []string
				var peak uint64
				for i, c := range cycle {
					parts = append(parts, fmt.Sprintf("poll %d: %.0f MiB at +%.1f s", i+1, float64(c)/mb, cycleAt[i].Seconds()))
					b.ReportMetric(float64(c)/mb, fmt.Sprintf("poll%d-peak-MiB", i+1))
					peak = max(peak, c)
				}
				b.Logf("peak VmRSS per poll cycle: %s (%.0f MB decimal at the highest); VmRSS at the end %.0f MiB (anon %.0f, file %.0f), VmHWM %.0f MiB, heap %.0f MiB, %v goroutines; %d scrapes (%d failed, slowest %s); process CPU %.1f s",
					strings.Join(parts, ", "), float64(peak)/1e6, float64(rss)/mb, float64(mem.Anon)/mb, float64(mem.File)/mb, float64(hwm)/mb, heap/mb,
					goroutines, scrapes.Load(), scrapeErrs.Load(), time.Duration(slowest.Load()).Round(time.Millisecond), cpu)
				b.ReportMetric(cpu, "cpu-s") // start, 5 polls and their builds, the scrapes
				b.ReportMetric(float64(peak)/mb, "peak-MiB")
				b.ReportMetric(float64(rss)/mb, "rss-MiB")
				b.ReportMetric(float64(mem.File)/mb, "file-MiB")
				b.ReportMetric(float64(hwm)/mb, "hwm-MiB")
				b.ReportMetric(heap/mb, "heap-MiB")
			}
		})
	}
}

// BenchmarkSlurmSoak runs `jobscope slurm` for 100 polls (1 s apart, the
// shortest interval) and 10,000 gzip scrapes against a 1k-node / 10k-job
// cluster, with slurmrestd answering 500 for polls 21-30, hanging past the
// request timeout for polls 41-45 and sending truncated bodies for polls
// 61-70, and reports VmRSS, heap and goroutines after the first poll
// (start), after poll 50 (middle) and after poll 100 (end); they must not
// grow. -benchtime 1x.
func BenchmarkSlurmSoak(b *testing.B) {
	const (
		polls   = 100
		scrapes = 10000
	)
	dir := benchBodies(b, 1000, 10000)
	restd := &benchRestd{fakeRestd: fakeRestd{dir: dir, version: "v0.0.44"}}
	srv := httptest.NewServer(restd)
	b.Cleanup(srv.Close)
	for b.Loop() {
		restd.jobsRequests.Store(0)
		restd.setMode("")
		p := startBinary(b, srv.URL, "--slurm.poll-interval=1s", "--slurm.request-timeout=1s")
		client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
		type point struct{ rss, hwm, heap, goroutines float64 }
		measure := func() point {
			mem, heap, goroutines := p.memory(b, client)
			return point{float64(mem.RSS) / mb, float64(mem.HWM) / mb, heap / mb, goroutines}
		}
		waitRequests(b, restd, 2, time.Minute)
		start := measure()

		// Scrapers: 4 at once, paced so that the 10,000 scrapes spread over
		// the 100 polls.
		ctx, cancel := context.WithCancel(context.Background())
		var done, failed atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				t := time.NewTicker(4 * polls * time.Second / scrapes)
				defer t.Stop()
				for ctx.Err() == nil && done.Add(1) <= scrapes {
					if _, err := scrapeGzip(client, p.url); err != nil {
						failed.Add(1)
					}
					select {
					case <-ctx.Done():
					case <-t.C:
					}
				}
			})
		}
		var middle point
		for i := int64(3); i <= polls+1; i++ {
			switch i {
			case 21:
				restd.setMode("500")
			case 41:
				restd.setMode("hang")
			case 61:
				restd.setMode("garbage")
			case 31, 46, 71:
				restd.setMode("")
			}
			waitRequests(b, restd, i, time.Minute)
			if i == polls/2+1 {
				middle = measure()
			}
		}
		restd.setMode("")
		wg.Wait()
		cancel()
		end := measure()
		n := min(done.Load(), scrapes)
		b.Logf("start: %+v; middle: %+v; end: %+v (MiB, MiB, MiB, goroutines); %d scrapes, %d failed", start, middle, end, n, failed.Load())
		if n < scrapes {
			b.Errorf("only %d scrapes", n)
		}
		for _, m := range []struct {
			name string
			v    float64
		}{{"start-rss-MiB", start.rss}, {"middle-rss-MiB", middle.rss}, {"end-rss-MiB", end.rss}, {"hwm-MiB", end.hwm},
			{"start-heap-MiB", start.heap}, {"middle-heap-MiB", middle.heap}, {"end-heap-MiB", end.heap},
			{"start-goroutines", start.goroutines}, {"middle-goroutines", middle.goroutines}, {"end-goroutines", end.goroutines}} {
			b.ReportMetric(m.v, m.name)
		}
	}
}
