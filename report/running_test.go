package report_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"jobscope/report"
	"jobscope/report/reporttest"
)

// exporterPage is a cluster exporter's page that the test changes while a
// real Prometheus scrapes it: the job listed or not, Slurm reachable or not,
// the target answering or failing.
type exporterPage struct {
	mu                 sync.Mutex
	job, slurmUp, fail bool
	start              time.Time
}

func (p *exporterPage) set(job, slurmUp, fail bool) {
	p.mu.Lock()
	p.job, p.slurmUp, p.fail = job, slurmUp, fail
	p.mu.Unlock()
}

func (p *exporterPage) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	up := 0
	if p.slurmUp {
		up = 1
	}
	fmt.Fprintf(w, "jobscope_slurm_up %d\n", up)
	if p.job {
		fmt.Fprintf(w, "jobscope_slurm_job_info{job_id=\"7\",name=\"n\",user=\"u\",account=\"a\",partition=\"p\",qos=\"q\",state=\"RUNNING\"} 1\n")
		fmt.Fprintf(w, "jobscope_slurm_job_start_timestamp_seconds{job_id=\"7\"} %d\n", p.start.Unix())
	}
}

// A job whose series Prometheus marked stale while their target is up and
// reaching Slurm has ended, seconds after it did; a job whose series went
// stale with its target (down, or cut off from Slurm) is still running
// within the slack.
func TestRunningFromStaleness(t *testing.T) {
	if testing.Short() {
		t.Skip("scrapes a changing page with a real Prometheus")
	}
	page := &exporterPage{job: true, slurmUp: true, start: time.Now()}
	hs := httptest.NewServer(page)
	defer hs.Close()
	srv := reporttest.Scrape(t, "jobscope-slurm", hs.URL+"/metrics")
	srv.WaitFor(t, `count_over_time(jobscope_slurm_job_info{job_id="7"}[1m]) >= 3`, 30*time.Second)

	state := func() *report.Report {
		t.Helper()
		r, err := report.Build(context.Background(), srv.API, report.Options{JobID: "7", URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// waitStale waits until the job's series are no longer live.
	waitStale := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			vec, err := srv.Query(context.Background(), `jobscope_slurm_job_info{job_id="7"}`)
			if err == nil && len(vec) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job series still live after 20s (err %v)", err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if r := state(); !r.Job.Running || r.Job.End != nil {
		t.Fatalf("listed job: running %v end %v, want running", r.Job.Running, r.Job.End)
	}

	// The target fails: its series go stale with it, the job still runs.
	page.set(true, true, true)
	waitStale()
	if r := state(); !r.Job.Running {
		t.Errorf("target down: job reported ended, want running within the slack")
	}
	// Up again but cut off from Slurm, serving no jobs.
	page.set(false, false, false)
	srv.WaitFor(t, `jobscope_slurm_up == 0`, 20*time.Second)
	if r := state(); !r.Job.Running {
		t.Errorf("exporter not reaching Slurm: job reported ended, want running within the slack")
	}
	// Slurm reachable and the job not listed: ended, at its last sample.
	page.set(false, true, false)
	srv.WaitFor(t, `jobscope_slurm_up == 1`, 20*time.Second)
	r := state()
	if r.Job.Running || r.Job.End == nil {
		t.Fatalf("job gone from a healthy exporter: running %v end %v, want ended", r.Job.Running, r.Job.End)
	}
	if !r.Job.End.Equal(r.Window.End) || time.Since(*r.Job.End) > 30*time.Second {
		t.Errorf("end %v, want the last sample (window end %v), seconds ago", r.Job.End, r.Window.End)
	}
}
