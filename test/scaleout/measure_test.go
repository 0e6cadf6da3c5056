package scaleout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/loadgen"
	"jobscope/test/testkit"
)

// The measurements docs/scale-out.md sizes with. Run with -v to see them:
//
//	go test -count=1 -v -run 'TestSeriesPer' ./test/scaleout/

// pageSeries parses a text exposition page into its families.
func pageSeries(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := testkit.ParsePage(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func label(m *dto.Metric, name string) (string, bool) {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

// seriesCount counts series (a histogram or summary as the series it
// exposes: buckets or quantiles, _sum, _count).
func seriesCount(mf *dto.MetricFamily, m *dto.Metric) int {
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM:
		return len(m.GetHistogram().GetBucket()) + 3 // +Inf, _sum, _count
	case dto.MetricType_SUMMARY:
		return len(m.GetSummary().GetQuantile()) + 2
	}
	return 1
}

// Per GPU node, from the node agent's golden pages: the 8-GPU H100 mock
// node (go-nvml's mock with every field the nvml backend reads) and the
// InfiniBand collector's pages of recorded sysfs trees.
func TestSeriesPerGPUNode(t *testing.T) {
	b, err := os.ReadFile("../../collectors/node/testdata/golden/mock-h100-node.prom")
	if err != nil {
		t.Fatal(err)
	}
	// GPU0 is healthy, not MIG, held by a job: the per-GPU series of a
	// busy full GPU.
	const gpu0 = "GPU-a0000000-1111-2222-3333-000000000000"
	perGPU, node, jobSeries := 0, 0, 0
	jobs := map[string]bool{}
	for _, mf := range pageSeries(t, b) {
		for _, m := range mf.GetMetric() {
			uuid, hasUUID := label(m, "uuid")
			job, hasJob := label(m, "job_id")
			switch {
			case hasUUID && uuid == gpu0:
				perGPU += seriesCount(mf, m)
			case hasJob && !hasUUID:
				jobSeries += seriesCount(mf, m)
				jobs[job] = true
			case !hasUUID:
				node += seriesCount(mf, m)
			}
		}
	}
	// The golden page leaves out the per-collector scrape durations (one
	// per success series); the real page has them.
	node += countFamily(t, b, "jobscope_scrape_collector_success")
	t.Logf("node agent, per GPU (H100, nvml, every field): %d series", perGPU)
	t.Logf("node agent, per node without GPUs and jobs (identity, backend, tenancy sources, collector health and durations): %d series", node)
	t.Logf("node agent, node-local per-job series (jobscope_job_*): %d for %d jobs", jobSeries, len(jobs))

	for _, page := range []string{"gcm_good", "gpud_cx7"} {
		b, err := os.ReadFile("../../collectors/infiniband/testdata/golden/" + page + ".prom")
		if err != nil {
			t.Fatal(err)
		}
		ports, perPort, other := map[string]bool{}, 0, 0
		for _, mf := range pageSeries(t, b) {
			for _, m := range mf.GetMetric() {
				dev, _ := label(m, "device")
				port, hasPort := label(m, "port")
				if hasPort {
					ports[dev+"/"+port] = true
					perPort += seriesCount(mf, m)
				} else {
					other += seriesCount(mf, m)
				}
			}
		}
		if len(ports) == 0 {
			t.Fatalf("%s: no port series", page)
		}
		t.Logf("infiniband %s: %d ports, %d port series (%.1f per port), %d others", page, len(ports), perPort, float64(perPort)/float64(len(ports)), other)
	}
	if perGPU < 20 || node < 10 {
		t.Errorf("per GPU %d, per node %d: the golden page lost its fields?", perGPU, node)
	}
	docHas(t, fmt.Sprintf("| %d | `collectors/node/testdata/golden/mock-h100-node.prom`, GPU0", perGPU),
		fmt.Sprintf("| %d | same page (+6 durations", node))
}

// docHas fails unless docs/scale-out.md contains each string: its sizing
// is these tests' measurements, and a change in what jobscope emits shows
// up here until the page is updated.
func docHas(t *testing.T, want ...string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/scale-out.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("docs/scale-out.md does not say %q: update its measurements", w)
		}
	}
}

func countFamily(t *testing.T, page []byte, name string) int {
	t.Helper()
	return len(pageSeries(t, page)[name].GetMetric())
}

// Per 1,000 running jobs: the real `jobscope slurm` polling generated
// clusters (test/loadgen's v0.0.44 payloads, served as slurm/rest's
// benchmark serves them) of 100 and 200 nodes with 1,000 and 2,000 jobs;
// the differences give the series per running job and per node.
func TestSeriesPerJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs jobscope slurm three times")
	}
	bin := testkit.BuildJobscope(t)
	type result struct {
		total, job, runtime, running int
		jobByFamily                  map[string]int
	}
	measure := func(nodes, jobs int) result {
		url := serveCluster(t, loadgen.Config{Seed: 1, Nodes: nodes, Jobs: jobs})
		mfs := pollOnce(t, bin, url)
		r := result{jobByFamily: map[string]int{}}
		for name, mf := range mfs {
			for _, m := range mf.GetMetric() {
				n := seriesCount(mf, m)
				r.total += n
				if _, ok := label(m, "job_id"); ok {
					r.job += n
					r.jobByFamily[name] += n
				}
				if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
					r.runtime += n
				}
				if st, _ := label(m, "state"); name == "jobscope_slurm_jobs" && st == "running" {
					r.running += int(m.GetGauge().GetValue())
				}
			}
		}
		t.Logf("jobscope slurm, %d nodes, %d jobs (%d running): %d series, %d with job_id, %d Go runtime and process", nodes, jobs, r.running, r.total, r.job, r.runtime)
		return r
	}
	a, b, c := measure(100, 1000), measure(100, 2000), measure(200, 1000)
	if b.running <= a.running {
		t.Fatalf("running jobs %d then %d: the generator did not scale", a.running, b.running)
	}
	perJob := float64(b.job-a.job) / float64(b.running-a.running)
	perNode := float64((c.total-c.job)-(a.total-a.job)) / 100
	// Pending jobs have a job_info too? Series with job_id over running
	// jobs alone say what the per-job cost is where the queue is mostly
	// running.
	t.Logf("per running job: %.2f series with job_id (%.0f per 1,000), by family:", perJob, perJob*1000)
	fams := make([]string, 0, len(b.jobByFamily))
	for f := range b.jobByFamily {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, f := range fams {
		t.Logf("  %-48s %7.0f per 1,000 running jobs", f, float64(b.jobByFamily[f]-a.jobByFamily[f])/float64(b.running-a.running)*1000)
	}
	t.Logf("per Slurm node (without job series): %.2f series", perNode)
	t.Logf("fixed (Go runtime, process, scheduler, partitions): about %d series", (a.total-a.job)-int(perNode*100))
	if perJob < 1 || perNode < 1 {
		t.Errorf("per job %.2f, per node %.2f: not what a cluster exporter emits", perJob, perNode)
	}
	docHas(t, fmt.Sprintf("| per Slurm node (state, flags, CPUs, memory, GPUs, …) | %.1f |", perNode),
		fmt.Sprintf("| per running job | %.1f = ", perJob),
		fmt.Sprintf("%.2f exporter", perJob))
}

// serveCluster serves a generated cluster's slurmrestd v0.0.44 answers
// from files, as slurm/rest's BenchmarkPollToSnapshot does; ping and
// shares are the spec-generated fixtures.
func serveCluster(t *testing.T, cfg loadgen.Config) string {
	t.Helper()
	dir := t.TempDir()
	if err := loadgen.WriteDir(dir, cfg, map[string]string{
		"ping":   "../../slurm/openapi/testdata/specgen-v0.0.44_ping.json",
		"shares": "../../slurm/openapi/testdata/specgen-v0.0.44_shares.json",
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(loadgen.Handler(dir))
	t.Cleanup(srv.Close)
	return srv.URL
}

// pollOnce runs jobscope slurm against url until a scrape shows jobs,
// nodes and partitions polled, and returns that page's families.
func pollOnce(t *testing.T, bin, url string) map[string]*dto.MetricFamily {
	t.Helper()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("unused\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	p := start(t, "jobscope slurm", bin, "slurm",
		"--web.listen-address="+addr,
		"--slurm.source=rest",
		"--slurm.rest-url="+url,
		"--slurm.api-version=v0.0.44",
		"--slurm.token-file="+token,
		"--slurm.poll-interval=1m",
		"--log.level=error",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				mfs := pageSeries(t, body)
				if polled(mfs, "jobs", "nodes", "partitions") {
					return mfs
				}
			}
		}
		select {
		case <-p.done:
			t.Fatalf("jobscope slurm exited: %s", p.log.String())
		case <-ctx.Done():
			t.Fatalf("jobscope slurm: no complete poll within 60s: %s", p.log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func polled(mfs map[string]*dto.MetricFamily, resources ...string) bool {
	ok := map[string]bool{}
	for _, m := range mfs["jobscope_slurm_poll_success"].GetMetric() {
		if r, _ := label(m, "resource"); m.GetGauge().GetValue() == 1 {
			ok[r] = true
		}
	}
	for _, r := range resources {
		if !ok[r] {
			return false
		}
	}
	return true
}
