package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"jobscope/report"
	"jobscope/report/reporttest"
	"jobscope/test/golden"
)

// One real Prometheus serves the backfilled fixture to every subtest.
func TestReport(t *testing.T) {
	now := reporttest.Now()
	srv := reporttest.Start(t, now)
	jobs := map[string]reporttest.Job{}
	for _, j := range reporttest.Jobs(now) {
		jobs[j.ID] = j
	}
	build := func(t *testing.T, id string) *report.Report {
		t.Helper()
		r, err := report.Build(context.Background(), srv.API, report.Options{JobID: id, URL: srv.URL, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		// Through the JSON schema, as a consumer reads it.
		var buf bytes.Buffer
		if err := report.JSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		var back report.Report
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("JSON does not read back: %v", err)
		}
		return &back
	}

	t.Run("running job numbers", func(t *testing.T) {
		j := jobs["4242"]
		r := build(t, "4242")
		checkJob(t, r, j, true)
		dur := j.End.Sub(j.Start).Seconds()
		if len(r.Nodes) != len(j.Nodes) {
			t.Fatalf("nodes %d, want %d", len(r.Nodes), len(j.Nodes))
		}
		for i, n := range j.Nodes {
			checkNode(t, r.Nodes[i], n, dur)
		}
		if len(r.Missing) != 0 {
			t.Errorf("missing %q, want none", r.Missing)
		}
		// The findings the fixture was built to cause, and no others.
		want := map[string]string{
			"xid":                 "GPU-bbbbbbbb-0000-4000-8000-000000000001",
			"gpu_memory_pressure": "GPU-aaaaaaaa-0000-4000-8000-000000000001",
			"gpu_imbalance":       "GPU-aaaaaaaa-0000-4000-8000-000000000003",
			"low_utilization":     "GPU-aaaaaaaa-0000-4000-8000-000000000003",
			"idle_gpu":            "GPU-bbbbbbbb-0000-4000-8000-000000000003",
			"cpu_bound":           "",
		}
		checkFindings(t, r, want)
		for _, f := range r.Findings {
			if f.Kind == "gpu_imbalance" && !near(f.Values["job_median_utilization"], 0.9) {
				t.Errorf("imbalance median %v, want 0.9", f.Values["job_median_utilization"])
			}
			if f.Kind == "cpu_bound" && (f.Node != "gpu-b" || !near(f.Values["cpu_efficiency"], 30.0/32)) {
				t.Errorf("cpu_bound %+v, want gpu-b at 30/32", f)
			}
		}
	})

	t.Run("ended job", func(t *testing.T) {
		j := jobs["4100"]
		r := build(t, "4100")
		checkJob(t, r, j, false)
		// The GPUs did 0.66 before and 0.77 after the job: exact in-job
		// numbers prove nothing outside the job's life leaks in.
		checkNode(t, r.Nodes[0], j.Nodes[0], j.End.Sub(j.Start).Seconds())
		checkFindings(t, r, map[string]string{
			"ecc_uncorrected": "GPU-cccccccc-0000-4000-8000-000000000000",
			"gpu_lost":        "GPU-cccccccc-0000-4000-8000-000000000001",
		})
		if len(r.Missing) != 1 || !strings.Contains(r.Missing[0], "no InfiniBand") {
			t.Errorf("missing %q, want only InfiniBand", r.Missing)
		}
	})

	t.Run("text golden", func(t *testing.T) {
		for _, id := range []string{"4242", "4100", "4300"} {
			r := build(t, id)
			stable(r, now)
			var buf bytes.Buffer
			if err := report.Text(&buf, r); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/report-"+id+".txt", buf.Bytes())
		}
	})

	t.Run("hostile names and no GPUs", func(t *testing.T) {
		r := build(t, "4300")
		if r.Job.Name != reporttest.HostileName || r.Job.User != "eve<b>" || r.Job.Account != "acct&'\"" {
			t.Errorf("identity %+v does not keep the names as they are", r.Job)
		}
		for _, n := range r.Nodes {
			if len(n.GPUs) != 0 {
				t.Errorf("node %s has GPUs", n.Name)
			}
		}
		checkFindings(t, r, map[string]string{"oom_kill": ""})
		if len(r.Missing) == 0 || !strings.HasPrefix(r.Missing[0], "no GPUs") {
			t.Errorf("missing %q, want no GPUs said first", r.Missing)
		}

		var text, js, page bytes.Buffer
		if err := report.Text(&text, r); err != nil {
			t.Fatal(err)
		}
		first := strings.SplitN(text.String(), "\n", 2)[0]
		if want := `jobscope report: job 4300 "<script>alert(1)</script>\n"quoted" \x1b[31mred\u202e"`; first != want {
			t.Errorf("text title\n got %s\nwant %s", first, want)
		}
		if strings.ContainsAny(text.String(), "\x1b\u202e") {
			t.Error("text output carries a raw control character")
		}
		if err := report.JSON(&js, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(js.String(), "<script>") || strings.Contains(js.String(), "<b>") {
			t.Error("JSON carries raw markup")
		}
		if err := report.HTML(&page, r); err != nil {
			t.Fatal(err)
		}
		h := page.String()
		if strings.Contains(h, "<script") || strings.Contains(h, "eve<b>") || strings.ContainsAny(h, "\x1b\u202e") {
			t.Errorf("HTML carries the hostile text unescaped:\n%s", h)
		}
		if !strings.Contains(h, `&lt;script&gt;alert(1)&lt;/script&gt;\n&#34;quoted&#34; \x1b[31mred\u202e`) || !strings.Contains(h, "eve&lt;b&gt;") {
			t.Error("HTML lost the hostile text instead of escaping it")
		}
		if strings.Contains(h, "<svg") {
			t.Error("HTML draws charts for a job without GPUs")
		}
		if !strings.Contains(h, "No GPU of this job seen by a node agent.") {
			t.Error("HTML does not say the job had no GPU")
		}
	})

	t.Run("html in chromium", func(t *testing.T) {
		testHTMLInBrowser(t, build(t, "4242"))
	})

	t.Run("not found", func(t *testing.T) {
		_, err := report.Build(context.Background(), srv.API, report.Options{JobID: "999", URL: srv.URL, Now: now})
		var nf *report.NotFoundError
		if !errors.As(err, &nf) || nf.ExitCode() != 1 {
			t.Fatalf("err %v, want NotFoundError", err)
		}
		if want := "job 999 not found in Prometheus at " + srv.URL + " over the last 30d"; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		_, err = report.Build(context.Background(), srv.API, report.Options{JobID: "4242", Cluster: "other", URL: srv.URL, Now: now})
		if !errors.As(err, &nf) {
			t.Errorf("job in another cluster: err %v, want NotFoundError", err)
		}
	})

	t.Run("cluster flag", func(t *testing.T) {
		r, err := report.Build(context.Background(), srv.API, report.Options{JobID: "4100", Cluster: "c1", URL: srv.URL, Now: now})
		if err != nil || r.Cluster != "c1" || len(r.Nodes) != 1 {
			t.Fatalf("report %+v, err %v", r, err)
		}
	})
}

func TestBadInput(t *testing.T) {
	for _, id := range []string{"", "12x", "1;drop", "4242_1", `4242"}`, "-1"} {
		_, err := report.Build(context.Background(), nil, report.Options{JobID: id})
		var ue *report.UsageError
		if !errors.As(err, &ue) || ue.ExitCode() != 2 {
			t.Errorf("job ID %q: err %v, want UsageError", id, err)
		}
	}

	// Unreachable: a port nobody listens on.
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	checkPromErr(t, addr, "connection refused")

	// Answering errors, as Prometheus does under load.
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"too many queries"}`))
	}))
	defer busy.Close()
	checkPromErr(t, busy.URL, "503")

	// A query Prometheus rejects (HTTP 422 with its message).
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}`))
	}))
	defer bad.Close()
	checkPromErr(t, bad.URL, "query timed out")
}

func checkPromErr(t *testing.T, url, want string) {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = report.Build(context.Background(), v1.NewAPI(c), report.Options{JobID: "1", URL: url})
	var pe *report.PrometheusError
	if !errors.As(err, &pe) || pe.ExitCode() != 2 || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), url) {
		t.Errorf("%s: err %v, want a PrometheusError naming the URL and %q", url, err, want)
	}
}

func checkJob(t *testing.T, r *report.Report, j reporttest.Job, running bool) {
	t.Helper()
	got := r.Job
	if got.ID != j.ID || got.Name != j.Name || got.User != j.User || got.Account != j.Account ||
		got.Partition != j.Partition || got.QOS != j.QOS || got.State != "running" || !got.SlurmSeen {
		t.Errorf("identity %+v, want %+v", got, j)
	}
	if got.Running != running || !got.Start.Equal(j.Start) {
		t.Errorf("running %v start %v, want %v %v", got.Running, got.Start, running, j.Start)
	}
	if running && got.End != nil {
		t.Errorf("running job has end %v", got.End)
	}
	if !running && (got.End == nil || !got.End.Equal(j.End)) {
		t.Errorf("end %v, want %v", got.End, j.End)
	}
	if !near(got.DurationSeconds, j.End.Sub(j.Start).Seconds()) || got.TimeLimitSeconds == nil || *got.TimeLimitSeconds != j.TimeLimit {
		t.Errorf("duration %v limit %v", got.DurationSeconds, got.TimeLimitSeconds)
	}
	if !r.Window.Start.Equal(j.Start) || !r.Window.End.Equal(j.End) {
		t.Errorf("window %v..%v, want %v..%v", r.Window.Start, r.Window.End, j.Start, j.End)
	}
}

func checkNode(t *testing.T, n report.Node, want reporttest.Node, dur float64) {
	t.Helper()
	if n.Name != want.Name || n.Instance != want.Instance || len(n.GPUs) != len(want.GPUs) {
		t.Fatalf("node %s (%s) with %d GPUs, want %s (%s) with %d", n.Name, n.Instance, len(n.GPUs), want.Name, want.Instance, len(want.GPUs))
	}
	if n.GPUsAllocated == nil || *n.GPUsAllocated != float64(len(want.GPUs)) {
		t.Errorf("%s: allocated %v", n.Name, n.GPUsAllocated)
	}
	var power float64
	for i, w := range want.GPUs {
		g := n.GPUs[i]
		power += w.PowerWatts
		if g.UUID != w.UUID || g.Index != w.Index || g.GRESIndex != w.Index || g.Model != "NVIDIA H100 80GB HBM3" {
			t.Errorf("GPU %+v, want %s", g, w.UUID)
		}
		if g.Utilization == nil || !near(g.Utilization.Mean, w.Util) || !near(g.Utilization.P95, w.Util) {
			t.Errorf("%s: utilization %+v, want %v", w.UUID, g.Utilization, w.Util)
		}
		if w.SM < 0 {
			if g.SMActive != nil || g.TensorActive != nil {
				t.Errorf("%s: SM/tensor %v %v, want absent", w.UUID, g.SMActive, g.TensorActive)
			}
		} else if g.SMActive == nil || !near(g.SMActive.Mean, w.SM) || g.TensorActive == nil || !near(g.TensorActive.Mean, w.Tensor) {
			t.Errorf("%s: SM/tensor %v %v, want %v %v", w.UUID, g.SMActive, g.TensorActive, w.SM, w.Tensor)
		}
		if !nearPtr(g.MemoryUsedMaxBytes, w.MemUsedBytes) || !nearPtr(g.MemoryTotalBytes, w.MemTotalBytes) || !nearPtr(g.MemoryUsedMaxRatio, w.MemUsedBytes/w.MemTotalBytes) {
			t.Errorf("%s: memory %v of %v", w.UUID, g.MemoryUsedMaxBytes, g.MemoryTotalBytes)
		}
		if !nearPtr(g.PowerMeanWatts, w.PowerWatts) || !nearPtr(g.EnergyJoules, w.PowerWatts*dur) {
			t.Errorf("%s: power %v energy %v, want %v %v", w.UUID, g.PowerMeanWatts, g.EnergyJoules, w.PowerWatts, w.PowerWatts*dur)
		}
		wantXID := 0
		if w.XIDDuringJob != "" {
			wantXID = 1
			if len(g.XIDs) == 1 && (g.XIDs[0].Code != w.XIDDuringJob || g.XIDs[0].Count != 1) {
				t.Errorf("%s: XIDs %+v, want %s once", w.UUID, g.XIDs, w.XIDDuringJob)
			}
		}
		if len(g.XIDs) != wantXID {
			t.Errorf("%s: XIDs %+v, want %d (an XID before the job is not the job's)", w.UUID, g.XIDs, wantXID)
		}
		if !nearPtr(g.ECCUncorrected, w.ECCDuringJob) || g.Lost != w.LostDuringJob {
			t.Errorf("%s: ECC %v lost %v", w.UUID, g.ECCUncorrected, g.Lost)
		}
		// The chart series: one point per step inside the life, all with data.
		if len(g.Series) < 150 || len(g.Series) > 201 {
			t.Errorf("%s: %d chart points, want about 200", w.UUID, len(g.Series))
		}
		for _, p := range g.Series {
			if p.Utilization == nil || !near(*p.Utilization, w.Util) || p.MemoryUsedBytes == nil {
				t.Errorf("%s: point %+v, want utilization %v", w.UUID, p, w.Util)
				break
			}
		}
	}
	if !nearPtr(n.GPUEnergyJoules, power*dur) {
		t.Errorf("%s: job GPU energy %v, want %v", n.Name, n.GPUEnergyJoules, power*dur)
	}
	h := n.Host
	if h == nil {
		t.Fatalf("%s: no host section", n.Name)
	}
	if !nearPtr(h.CPUSeconds, want.BusyCPUs*dur) || !nearPtr(h.CPUs, want.CPUs) || !nearPtr(h.CPUEfficiency, want.BusyCPUs/want.CPUs) {
		t.Errorf("%s: CPU %v on %v = %v, want %v on %v", n.Name, h.CPUSeconds, h.CPUs, h.CPUEfficiency, want.BusyCPUs*dur, want.CPUs)
	}
	if !nearPtr(h.MemoryPeakBytes, want.MemPeakBytes) || !nearPtr(h.MemoryLimitBytes, want.MemLimitBytes) ||
		!nearPtr(h.MemoryPeakRatio, want.MemPeakBytes/want.MemLimitBytes) || !nearPtr(h.OOMKills, want.OOMKills) {
		t.Errorf("%s: host memory %+v", n.Name, h)
	}
	if want.IBBytesPerSec == 0 {
		if n.InfiniBand != nil {
			t.Errorf("%s: InfiniBand %+v, want none", n.Name, n.InfiniBand)
		}
		return
	}
	ib := n.InfiniBand
	b := want.IBBytesPerSec * dur
	if ib == nil || !near(ib.ReceivedBytes, b) || !near(ib.TransmittedBytes, b) || !near(ib.ReceivedPackets, b/want.IBPacketSize) ||
		!near(ib.TransmittedPackets, b/want.IBPacketSize) || len(ib.Ports) != 1 || ib.Ports[0].Device != "mlx5_0" {
		t.Errorf("%s: InfiniBand %+v, want %v bytes each way", n.Name, ib, b)
	}
}

// checkFindings wants exactly these kinds, on these GPUs ("" for a node).
func checkFindings(t *testing.T, r *report.Report, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, f := range r.Findings {
		if _, dup := got[f.Kind]; dup {
			t.Errorf("finding %s twice", f.Kind)
		}
		got[f.Kind] = f.GPU
		if f.Summary == "" || len(f.Values) == 0 {
			t.Errorf("finding %+v without words or numbers", f)
		}
	}
	for k, g := range want {
		if gg, ok := got[k]; !ok || gg != g {
			t.Errorf("finding %s on %q: got %q (present %v)", k, g, gg, ok)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s", k)
		}
	}
}

// stable moves a report's times to a fixed now and names a fixed server,
// for golden files.
func stable(r *report.Report, now time.Time) {
	fixed := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	d := fixed.Sub(now)
	r.Prometheus = "http://prometheus.test:9090"
	r.GeneratedAt = r.GeneratedAt.Add(d)
	r.Job.Start = r.Job.Start.Add(d)
	if r.Job.End != nil {
		e := r.Job.End.Add(d)
		r.Job.End = &e
	}
	r.Window.Start, r.Window.End = r.Window.Start.Add(d), r.Window.End.Add(d)
	for i := range r.Nodes {
		for j := range r.Nodes[i].GPUs {
			for k := range r.Nodes[i].GPUs[j].Series {
				r.Nodes[i].GPUs[j].Series[k].Time = r.Nodes[i].GPUs[j].Series[k].Time.Add(d)
			}
		}
	}
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func nearPtr(p *float64, b float64) bool { return p != nil && near(*p, b) }
