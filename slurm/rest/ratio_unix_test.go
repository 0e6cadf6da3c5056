//go:build unix

package rest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobscope/slurm/openapi"
	"jobscope/slurm/poller"
	"jobscope/test/loadgen"
)

// serveDirEnv names the directory TestBenchServeDir serves; set only when
// BenchmarkPollVsDecode starts this test binary as its fake slurmrestd.
const serveDirEnv = "JOBSCOPE_BENCH_SERVE_DIR"

// TestBenchServeDir is not a test: it is the fake slurmrestd process of
// BenchmarkPollVsDecode (the test binary started again with serveDirEnv
// set). It serves on loopback TCP and on dir/slurmrestd.sock, prints the
// TCP address on stdout and serves until killed or until its stdin closes,
// which happens when the benchmark process ends however it ends.
func TestBenchServeDir(t *testing.T) {
	dir := os.Getenv(serveDirEnv)
	if dir == "" {
		t.Skip("helper process of BenchmarkPollVsDecode")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uln, err := net.Listen("unix", filepath.Join(dir, "slurmrestd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = http.Serve(uln, loadgen.Handler(dir)) }()
	go func() { _ = http.Serve(ln, loadgen.Handler(dir)) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// serveInChild starts the fake slurmrestd for dir in another process, so
// that its CPU (reading the files, writing the sockets) is not the
// benchmark process's, as slurmrestd's is not jobscope's. cpu reads that
// process's CPU time, so that work moved between the two (loopback TCP
// receive processing runs in whichever process's softirq) can be seen.
func serveInChild(b *testing.B, dir string) (url string, cpu func() time.Duration) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServeDir$")
	cmd.Env = append(os.Environ(), serveDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	// Never written: the child exits when it closes, with this process.
	if _, err := cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("fake slurmrestd: %v", err)
	}
	stat := fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)
	cpu = func() time.Duration {
		// utime and stime, fields 14 and 15, in clock ticks (100 a
		// second on Linux); 0 where there is no /proc.
		st, err := os.ReadFile(stat)
		if err != nil {
			return 0
		}
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(u+s) * 10 * time.Millisecond
	}
	return "http://" + strings.TrimSpace(line), cpu
}

// mmapFile maps a body outside the Go heap: a 778 MB []byte on the heap
// would raise the GC's target by as much and let the decoder run with
// fewer collections than the poll, whose body is never on the heap.
func mmapFile(b *testing.B, path string) []byte {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = syscall.Munmap(m) })
	return m
}

// cpuNow is the process's user and system CPU time: on a shared machine
// their sum moves far less with the neighbours' load than wall time does.
func cpuNow() (user, sys time.Duration, faults int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), int64(ru.Minflt)
}

// pureAcks is the host's count of pure ACKs taken on TCP's fast path
// (TcpExt TCPHPAcks in /proc/net/netstat, this network namespace: the fake
// slurmrestd's side of loopback included); 0 where there is none. A body
// read through a receive window that never grew shows as thousands of them,
// one window update per small read; a body read normally, as hundreds.
func pureAcks() int64 {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" {
			continue
		}
		for k := 1; k < len(names) && k < len(vals); k++ {
			if names[k] == "TCPHPAcks" {
				n, _ := strconv.ParseInt(vals[k], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cost is the CPU (user+system, and system alone) and wall time of a number
// of runs of one step, and the fake slurmrestd's CPU meanwhile.
type cost struct {
	cpu, sys, wall, server []time.Duration
	faults                 []int64
	// acks are the pure ACKs (pureAcks) during the step.
	acks []int64
	// gcs are the GC cycles that ended during the step (the runtime's GC
	// CPU estimate is not used: it is updated only at the end of a cycle).
	gcs []uint64
}

// gcCycles is the number of completed GC cycles.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func (c *cost) measure(step string, server func() time.Duration, f func()) {
	runtime.GC()
	v0 := server()
	g0, a0 := gcCycles(), pureAcks()
	u0, s0, f0 := cpuNow()
	w0 := time.Now()
	// The label carries into the poller's goroutines, so a -cpuprofile
	// can be split by step (pprof -tagfocus step=poll).
	pprof.Do(context.Background(), pprof.Labels("step", step), func(context.Context) { f() })
	u1, s1, f1 := cpuNow()
	c.gcs = append(c.gcs, gcCycles()-g0)
	c.acks = append(c.acks, pureAcks()-a0)
	c.server = append(c.server, server()-v0)
	c.faults = append(c.faults, f1-f0)
	c.wall = append(c.wall, time.Since(w0))
	c.cpu = append(c.cpu, u1-u0+s1-s0)
	c.sys = append(c.sys, s1-s0)
}

func mean(d []time.Duration) float64 {
	var s time.Duration
	for _, x := range d {
		s += x
	}
	return s.Seconds() / float64(len(d))
}

// BenchmarkPollVsDecode compares, on the same generated v0.0.44 bodies of
// 10k nodes and 100k jobs, the decoder alone with a whole poll, interleaved
// within each iteration (the order rotates) so both see the same load:
//   - decode-jobs: openapi.DecodeJobsSized over the jobs body (mapped from
//     its file, outside the heap), told the job count as a poll after the
//     first is told the previous one's;
//   - decode-all: every decoder a poll runs, over every body it fetches;
//   - decode-all-first: decode-all with the jobs decoder told no count, as
//     a first poll's is (a fresh client has no previous count);
//   - poll: poller.PollNow over a fresh rest.Client against a fake
//     slurmrestd in another process serving the same files over loopback
//     HTTP, until the snapshot;
//   - repoll: the same through one poller and client kept across
//     iterations, so the previous poll's jobs are live meanwhile;
//   - poll-unix: poll over the server's unix socket (slurmrestd on the
//     same host).
//
// Each step starts after a GC. The metrics are means per step of the
// process's CPU (user+system, GC included; the server's is in its own
// process; -sys-s the system part) and of wall time, and the polls' CPU
// over the decoders'; every iteration's figures, page faults included, are
// logged (-v). Profile by step with -cpuprofile and pprof -tagfocus
// step=poll.
func BenchmarkPollVsDecode(b *testing.B) {
	if testing.Short() {
		b.Skip("100k jobs (~780 MB) skipped under -short")
	}
	const nodes, jobs = 10000, 100000
	dir := b.TempDir()
	if err := loadgen.WriteDir(dir, loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs}, map[string]string{
		"ping":   "../openapi/testdata/specgen-v0.0.44_ping.json",
		"shares": "../openapi/testdata/specgen-v0.0.44_shares.json",
	}); err != nil {
		b.Fatal(err)
	}
	url, serverCPU := serveInChild(b, dir)
	body := map[string][]byte{}
	for _, r := range []string{"jobs", "nodes", "partitions", "diag", "ping", "shares"} {
		body[r] = mmapFile(b, filepath.Join(dir, r+".json"))
	}
	check := func(err error, what string) {
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	decodeJobsTold := func(count int) {
		js, _, err := openapi.DecodeJobsSized(bytes.NewReader(body["jobs"]), count)
		check(err, "jobs")
		if len(js) != jobs {
			b.Fatalf("%d jobs", len(js))
		}
	}
	decodeJobs := func() { decodeJobsTold(jobs) }
	decodeAllTold := func(count int) {
		decodeJobsTold(count)
		_, _, err := openapi.DecodeNodes(bytes.NewReader(body["nodes"]))
		check(err, "nodes")
		_, _, err = openapi.DecodePartitions(bytes.NewReader(body["partitions"]))
		check(err, "partitions")
		_, _, err = openapi.DecodeDiag(bytes.NewReader(body["diag"]))
		check(err, "diag")
		_, _, err = openapi.DecodePing(bytes.NewReader(body["ping"]))
		check(err, "ping")
		_, _, err = openapi.DecodeShares(bytes.NewReader(body["shares"]))
		check(err, "shares")
	}
	decodeAll := func() { decodeAllTold(jobs) }
	decodeAllFirst := func() { decodeAllTold(0) }
	newPollerAt := func(url string) *poller.Poller {
		c, err := New(Options{URL: url, Version: "v0.0.44", DisableUpdateTime: true, Timeout: 10 * time.Minute})
		check(err, "client")
		return poller.New(c, time.Hour, nil, poller.Options{Timeout: 10 * time.Minute})
	}
	newPoller := func() *poller.Poller { return newPollerAt(url) }
	pollWith := func(p *poller.Poller) {
		snap := p.PollNow(context.Background())
		for r, st := range snap.Resources {
			check(st.Err, string(r))
		}
		if len(snap.Jobs) != jobs || len(snap.Nodes) != nodes {
			b.Fatalf("%d jobs, %d nodes", len(snap.Jobs), len(snap.Nodes))
		}
	}
	poll := func() { pollWith(newPoller()) }
	// pollUnix is poll over the server's unix socket, as where slurmrestd
	// runs on the same host.
	pollUnix := func() { pollWith(newPollerAt("unix://" + filepath.Join(dir, "slurmrestd.sock"))) }
	// repoll is a later poll of one poller, as `jobscope slurm` runs them:
	// the previous jobs stay live (in the snapshot and the client's cache)
	// while the new ones decode.
	steady := newPoller()
	repoll := func() { pollWith(steady) }
	// Untimed: fault the mapped pages in, warm the page cache, and make
	// each kind of connection once.
	decodeAll()
	repoll()
	pollUnix()

	var dj, da, df, pl, rp, pu cost
	steps := []struct {
		name string
		c    *cost
		f    func()
	}{{"decode-jobs", &dj, decodeJobs}, {"decode-all", &da, decodeAll}, {"decode-all-first", &df, decodeAllFirst},
		{"poll", &pl, poll}, {"repoll", &rp, repoll}, {"poll-unix", &pu, pollUnix}}
	i := 0
	for b.Loop() {
		for k := range steps {
			s := steps[(i+k)%len(steps)]
			s.c.measure(s.name, serverCPU, s.f)
		}
		n := len(pl.cpu) - 1
		b.Logf("iteration %d: CPU (system) decode-jobs %.2fs (%.2fs) decode-all %.2fs (%.2fs) decode-all-first %.2fs (%.2fs) poll %.2fs (%.2fs) repoll %.2fs (%.2fs) poll-unix %.2fs (%.2fs); poll/decode-all %.2f×, poll/decode-all-first %.2f×, repoll %.2f×, poll-unix %.2f×; wall %.2fs %.2fs %.2fs %.2fs %.2fs %.2fs; page faults %d %d %d %d %d %d; server CPU poll %.2fs repoll %.2fs poll-unix %.2fs; GC cycles %d %d %d %d %d %d; pure ACKs poll %d repoll %d poll-unix %d",
			i+1, dj.cpu[n].Seconds(), dj.sys[n].Seconds(), da.cpu[n].Seconds(), da.sys[n].Seconds(), df.cpu[n].Seconds(), df.sys[n].Seconds(),
			pl.cpu[n].Seconds(), pl.sys[n].Seconds(), rp.cpu[n].Seconds(), rp.sys[n].Seconds(), pu.cpu[n].Seconds(), pu.sys[n].Seconds(),
			pl.cpu[n].Seconds()/da.cpu[n].Seconds(), pl.cpu[n].Seconds()/df.cpu[n].Seconds(), rp.cpu[n].Seconds()/da.cpu[n].Seconds(), pu.cpu[n].Seconds()/da.cpu[n].Seconds(),
			dj.wall[n].Seconds(), da.wall[n].Seconds(), df.wall[n].Seconds(), pl.wall[n].Seconds(), rp.wall[n].Seconds(), pu.wall[n].Seconds(),
			dj.faults[n], da.faults[n], df.faults[n], pl.faults[n], rp.faults[n], pu.faults[n],
			pl.server[n].Seconds(), rp.server[n].Seconds(), pu.server[n].Seconds(),
			dj.gcs[n], da.gcs[n], df.gcs[n], pl.gcs[n], rp.gcs[n], pu.gcs[n], pl.acks[n], rp.acks[n], pu.acks[n])
		i++
	}
	b.ReportMetric(mean(dj.cpu), "decode-jobs-cpu-s")
	b.ReportMetric(mean(da.cpu), "decode-all-cpu-s")
	b.ReportMetric(mean(df.cpu), "decode-all-first-cpu-s")
	b.ReportMetric(mean(pl.cpu), "poll-cpu-s")
	b.ReportMetric(mean(pl.sys), "poll-sys-s")
	b.ReportMetric(mean(rp.cpu), "repoll-cpu-s")
	b.ReportMetric(mean(pl.server), "poll-server-cpu-s")
	b.ReportMetric(mean(rp.server), "repoll-server-cpu-s")
	b.ReportMetric(mean(da.sys), "decode-all-sys-s")
	b.ReportMetric(mean(dj.wall), "decode-jobs-wall-s")
	b.ReportMetric(mean(da.wall), "decode-all-wall-s")
	b.ReportMetric(mean(pl.wall), "poll-wall-s")
	b.ReportMetric(mean(rp.wall), "repoll-wall-s")
	b.ReportMetric(mean(pl.cpu)/mean(dj.cpu), "poll/decode-jobs-cpu")
	b.ReportMetric(mean(pl.cpu)/mean(da.cpu), "poll/decode-all-cpu")
	b.ReportMetric(mean(pl.cpu)/mean(df.cpu), "poll/decode-all-first-cpu")
	b.ReportMetric(mean(rp.cpu)/mean(da.cpu), "repoll/decode-all-cpu")
	b.ReportMetric(mean(pu.cpu)/mean(da.cpu), "poll-unix/decode-all-cpu")
	b.ReportMetric((mean(pl.cpu)-mean(pl.sys))/(mean(da.cpu)-mean(da.sys)), "poll/decode-all-user")
}
