package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"jobscope/gpu/simulated"
	"jobscope/report"
	"jobscope/test/promtest"
)

// `jobscope report` against the chain's Prometheus, for running jobs and for a job that
// ends while the chain runs.

// runReport runs `jobscope report` on the job in the given format and returns its output;
// a non-zero exit fails the test.
func runReport(t *testing.T, promURL, jobID, format string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, "report", "--prometheus.url="+promURL, "--format="+format, "--timeout=30s", jobID)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("jobscope report --format=%s %s: %v\n%s", format, jobID, err, stderr.String())
	}
	return stdout.Bytes()
}

func reportJSON(t *testing.T, promURL, jobID string) *report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal(runReport(t, promURL, jobID, "json"), &r); err != nil {
		t.Fatalf("jobscope report --format=json %s: %v", jobID, err)
	}
	return &r
}

// checkIdentity compares the report's job with what scontrol said, and its GPUs per node
// with Slurm's allocation (GRES indices turned into the simulated GPUs' UUIDs).
func checkIdentity(t *testing.T, r *report.Report, j *jobTruth) {
	t.Helper()
	got := [4]string{r.Job.Name, r.Job.User, r.Job.Account, r.Job.Partition}
	want := [4]string{j.Name, j.User, j.Account, j.Partition}
	if !r.Job.SlurmSeen || got != want {
		t.Errorf("job %s: report says (name, user, account, partition) %q (Slurm seen %v), scontrol %q", j.ID, got, r.Job.SlurmSeen, want)
	}
	wantGPUs := map[string][]string{}
	total := 0
	for _, a := range j.Alloc {
		for _, idx := range a.GPUIdx {
			wantGPUs[a.Node] = append(wantGPUs[a.Node], simulated.UUID(a.Node, idx))
			total++
		}
	}
	if r.Job.GPUsAllocated == nil || int(*r.Job.GPUsAllocated) != total {
		t.Errorf("job %s: report's GPUs allocated %v, Slurm %d", j.ID, ptrStr(r.Job.GPUsAllocated), total)
	}
	gotGPUs := map[string][]string{}
	for _, n := range r.Nodes {
		if len(wantGPUs[n.Name]) == 0 {
			t.Errorf("job %s: report lists node %s, where Slurm gave it no GPU", j.ID, n.Name)
			continue
		}
		if n.GPUsAllocated == nil || int(*n.GPUsAllocated) != len(wantGPUs[n.Name]) {
			t.Errorf("job %s node %s: report's GPUs allocated %v, Slurm %d", j.ID, n.Name, ptrStr(n.GPUsAllocated), len(wantGPUs[n.Name]))
		}
		for _, g := range n.GPUs {
			gotGPUs[n.Name] = append(gotGPUs[n.Name], g.UUID)
		}
	}
	for _, m := range []map[string][]string{wantGPUs, gotGPUs} {
		for _, l := range m {
			sort.Strings(l)
		}
	}
	if fmt.Sprint(gotGPUs) != fmt.Sprint(wantGPUs) {
		t.Errorf("job %s: report's GPUs by node %v, Slurm's allocation %v", j.ID, gotGPUs, wantGPUs)
	}
}

// checkUtilization holds each GPU's utilisation in the report to the simulated GPU's
// series in Prometheus: a few of its points are avg_over_time over the report's range at
// that time, its mean and max are those of its points, and all lie within the raw
// samples' range over the window.
func checkUtilization(t *testing.T, srv *promtest.Server, r *report.Report) {
	t.Helper()
	ctx := context.Background()
	rng := fmt.Sprintf("%ds", int(r.Window.RangeSeconds))
	at := func(expr string, ts time.Time) (float64, error) {
		v, _, _, err := srv.API.Query(ctx, expr, ts)
		if err != nil {
			return 0, err
		}
		vec, ok := v.(model.Vector)
		if !ok || len(vec) != 1 {
			return 0, fmt.Errorf("%s at %s: want one series, got %v", expr, ts, v)
		}
		return float64(vec[0].Value), nil
	}
	checked := 0
	for _, n := range r.Nodes {
		for _, g := range n.GPUs {
			sel := fmt.Sprintf(`jobscope_gpu_utilization_ratio{cluster="local",uuid=%q}`, g.UUID)
			var vals []float64
			for _, p := range g.Series {
				if p.Utilization != nil {
					vals = append(vals, *p.Utilization)
				}
			}
			if g.Utilization == nil || len(vals) == 0 {
				t.Errorf("GPU %s on %s: no utilisation in the report", g.UUID, n.Name)
				continue
			}
			var sum, mx float64
			for _, v := range vals {
				sum += v
				mx = math.Max(mx, v)
			}
			if !approxEq(g.Utilization.Mean, sum/float64(len(vals))) || !approxEq(g.Utilization.Max, mx) {
				t.Errorf("GPU %s: mean %v max %v, its points' %v %v", g.UUID, g.Utilization.Mean, g.Utilization.Max, sum/float64(len(vals)), mx)
			}
			span := fmt.Sprintf("%ds", int(math.Ceil(r.Window.End.Sub(r.Window.Start).Seconds()+r.Window.RangeSeconds)))
			lo, err1 := at("min_over_time("+sel+"["+span+"])", r.Window.End)
			hi, err2 := at("max_over_time("+sel+"["+span+"])", r.Window.End)
			if err1 != nil || err2 != nil {
				t.Errorf("GPU %s: %v %v", g.UUID, err1, err2)
				continue
			}
			if g.Utilization.Mean < lo-1e-9 || g.Utilization.Max > hi+1e-9 {
				t.Errorf("GPU %s: report's mean %v max %v outside its samples' range [%v, %v] over the window", g.UUID, g.Utilization.Mean, g.Utilization.Max, lo, hi)
			}
			// First, middle and last point against Prometheus.
			for _, i := range []int{0, len(g.Series) / 2, len(g.Series) - 1} {
				p := g.Series[i]
				if p.Utilization == nil {
					continue
				}
				want, err := at("avg_over_time("+sel+"["+rng+"])", p.Time)
				if err != nil {
					t.Errorf("GPU %s: %v", g.UUID, err)
				} else if !approxEq(*p.Utilization, want) {
					t.Errorf("GPU %s at %s: report %v, Prometheus's avg_over_time[%s] %v", g.UUID, p.Time, *p.Utilization, rng, want)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Errorf("job %s: no GPU utilisation checked", r.Job.ID)
	}
}

func approxEq(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func ptrStr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// checkRunningReport: the report of a running job, in JSON and text.
func checkRunningReport(t *testing.T, srv *promtest.Server, j *jobTruth) {
	t.Helper()
	r := reportJSON(t, srv.URL, j.ID)
	if !r.Job.Running || r.Job.End != nil {
		t.Errorf("job %s: running %v, end %v: want running", j.ID, r.Job.Running, r.Job.End)
	}
	checkIdentity(t, r, j)
	checkUtilization(t, srv, r)
	text := string(runReport(t, srv.URL, j.ID, "text"))
	for _, want := range []string{`(?m)^jobscope report: job ` + j.ID + ` "` + regexp.QuoteMeta(j.Name) + `"$`,
		`(?m)^\s+user\s+` + regexp.QuoteMeta(j.User) + `$`, `(?m)^\s+state\s+.*\(running\)$`} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("job %s: text report does not match %s:\n%s", j.ID, want, text)
		}
	}
}

// sb submits a batch job as user, as test/slurmlocal/workload.sh does, and returns its ID.
func sb(t *testing.T, c cluster, user string, args ...string) string {
	t.Helper()
	jobs := filepath.Join(c.base, "jobs")
	all := append([]string{"-u", user, "--", "env", "SLURM_CONF=" + os.Getenv("SLURM_CONF"), "sbatch", "--parsable",
		"--chdir=" + jobs, "--output=" + jobs + "/%x-%j.out"}, args...)
	out, err := run("runuser", all...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// squeueState is the job's state as squeue prints it ("" once it has left the queue).
func squeueState(id string) string {
	out, _ := run("squeue", "-h", "-j", id, "-o", "%T")
	return strings.TrimSpace(out)
}

func waitState(t *testing.T, id string, timeout time.Duration, ok func(string) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok(squeueState(id)) {
		if time.Now().After(deadline) {
			t.Fatalf("job %s not %s within %s (squeue: %q)", id, what, timeout, squeueState(id))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The workload's infer-bob, as test/slurmlocal/workload.sh submits it.
var inferBob = []string{"-p", "gpu", "-J", "infer-bob", "-c", "1", "--mem=2G", "--gres=gpu:h100:1", "--wrap", "sleep 3600"}

// startShortJob runs a one-GPU job of a few seconds while the chain watches. The workload
// leaves no GPU free (node1's four are held, node2 drains), so infer-bob makes room and is
// submitted again to run after it: later tests and `make demo` find the workload whole.
func startShortJob(t *testing.T, c cluster, tr *truth) *jobTruth {
	t.Helper()
	var infer *jobTruth
	for _, j := range tr.Jobs {
		if j.Name == "infer-bob" && j.State == "running" {
			infer = j
		}
	}
	if infer == nil {
		t.Fatal("no running infer-bob: is the workload there?")
	}
	if _, err := run("scancel", infer.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, infer.ID, 30*time.Second, func(s string) bool { return s == "" }, "gone after scancel (infer-bob)")
	id := sb(t, c, "bob", "-p", "gpu", "-J", "short-bob", "-c", "1", "--mem=1G", "--gres=gpu:h100:1", "--time=2", "--wrap", "sleep 15")
	waitState(t, id, 30*time.Second, func(s string) bool { return s == "RUNNING" }, "running (short-bob)")
	// infer-bob again, pending until short-bob frees its GPU. big-alice (4 GPUs) comes
	// first by priority and blocks the partition for the main scheduler, which left
	// infer-bob to backfill: it started 2-23 s after short-bob ended. Put ahead of
	// big-alice (the exporter does not export priorities), the main scheduler starts it
	// when short-bob ends.
	began := time.Now()
	again := sb(t, c, "bob", inferBob...)
	if _, err := run("scontrol", "update", "jobid="+again, "priority=1000000"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		waitState(t, again, 60*time.Second, func(s string) bool { return s == "RUNNING" }, "running again (infer-bob resubmitted)")
		t.Logf("infer-bob submitted again as job %s, running %.1fs later", again, time.Since(began).Seconds())
	})
	tr2, err := readTruth()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range tr2.Jobs {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("short-bob %s not in scontrol", id)
	return nil
}

// sacctTimes are Slurm's accounting record of a finished job: its state, start and end.
func sacctTimes(id string) (state string, start, end time.Time, err error) {
	out, err := run("sacct", "-X", "-n", "-P", "-j", id, "-o", "State,Start,End")
	if err != nil {
		return "", start, end, err
	}
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 3 {
		return "", start, end, fmt.Errorf("sacct line %q", out)
	}
	start, err1 := time.ParseInLocation("2006-01-02T15:04:05", f[1], time.Local)
	end, err2 := time.ParseInLocation("2006-01-02T15:04:05", f[2], time.Local)
	if err1 != nil || err2 != nil {
		return f[0], start, end, fmt.Errorf("sacct %q: no start or end yet", out)
	}
	return f[0], start, end, nil
}

// checkEndedReport waits until the short job has ended in Slurm and its series have
// stopped, then holds its report to sacct: ended, its life within a few scrape intervals
// (1 s; the exporter polls every 2 s) of sacct's Start and End.
func checkEndedReport(t *testing.T, srv *promtest.Server, j *jobTruth) {
	t.Helper()
	var state string
	var start, end time.Time
	deadline := time.Now().Add(45 * time.Second)
	for {
		var err error
		state, start, end, err = sacctTimes(j.ID)
		if err == nil && state == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("short job %s has not completed in sacct within 45s: %q %v", j.ID, state, err)
		}
		time.Sleep(time.Second)
	}
	ended := time.Now()
	var r *report.Report
	for {
		r = reportJSON(t, srv.URL, j.ID)
		if !r.Job.Running {
			break
		}
		if time.Since(ended) > 30*time.Second {
			t.Fatalf("job %s ended at %s (sacct) but its report still says running 30s later", j.ID, end)
		}
		time.Sleep(time.Second)
	}
	t.Logf("job %s: report says ended %.1fs after sacct said COMPLETED", j.ID, time.Since(ended).Seconds())
	if r.Job.End == nil {
		t.Fatalf("job %s ended but the report has no end", j.ID)
	}
	const slack = 5 * time.Second
	within := func(what string, got, want time.Time) {
		if d := got.Sub(want); d < -slack || d > slack {
			t.Errorf("job %s: %s %s, sacct %s (%+.1fs; want within %s)", j.ID, what, got, want, d.Seconds(), slack)
		} else {
			t.Logf("job %s: %s %+.1fs from sacct's", j.ID, what, d.Seconds())
		}
	}
	within("start", r.Job.Start, start)
	within("first sample", r.Window.Start, start)
	within("end", *r.Job.End, end)
	checkIdentity(t, r, j)
	text := string(runReport(t, srv.URL, j.ID, "text"))
	if !strings.Contains(text, "ended (last seen") {
		t.Errorf("job %s: text report does not say ended:\n%s", j.ID, text)
	}
}
