package dashboards

import (
	"path/filepath"
	"testing"
	"time"

	"jobscope/test/promtest"
)

// noData names the queries that cannot return data on the golden pages,
// and why. A query listed here that does return data fails the test, so the
// list only shrinks.
var noData = map[string]string{
	"jobscope-overview/7/A":   "needs a firing alert: those without a for: fire on counters that grow (static pages never do) or on a faulted GPU a job holds (gpu-b07's lost GPU is free); the others' for: outlasts the test",
	"jobscope-job/30/A":       "needs per-job InfiniBand traffic: no golden page has a job on a node with an HCA",
	"jobscope-job/30/B":       "needs per-job InfiniBand traffic: no golden page has a job on a node with an HCA",
	"jobscope-job/40/A":       "needs a multi-node job with agents on two nodes whose median activity is above 10%",
	"jobscope-job/41/A":       "needs per-job InfiniBand traffic on two nodes of one job",
	"jobscope-infiniband/6/A": "needs per-job InfiniBand traffic: no golden page has a job on a node with an HCA",
	"jobscope-self/4/A":       "the golden pages leave out collector durations (they vary from run to run)",
	"jobscope-self/7/A":       "the golden pages leave out poll durations (they vary from run to run)",
	"jobscope-self/8/A":       "the golden pages leave out the last-success timestamps (they vary from run to run)",
	"jobscope-gpu-health/6/A": "needs the DCGM backend's last XID: the DCGM goldens' exporters do not export DCGM_FI_DEV_XID_ERRORS",
}

// Test values of the template variables. Multi-value variables take their
// All value; the single ones are tried in turn until a query returns data
// (job 1001 is on node1 with Slurm's page; job 4 has the host-side series
// on gpu-b07; cluster c2 is the Slurm 22.05 page with a pending queue).
var goldenValues = Values{
	Fixed: map[string]string{"node": ".*", "partition": ".*", "k8s_namespace": ".*",
		"__rate_interval": "30s", "__range": "1h", "__interval": "15s"},
	Choices: map[string][]string{"cluster": {"c1", "c2"}, "job_id": {"1001", "4", "2001", "77"}},
}

// Every panel and variable query parses and, against a real Prometheus
// scraping the golden pages of both commands and evaluating the recording
// rules, returns data (or noData says why it cannot).
func TestQueriesOnGoldenPages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and waits for the daily rules' first minute")
	}
	promtest.Binary(t)
	rules := rulesFile()
	if rules == "" {
		t.Skip("no alerts/rules.yml (nor JOBSCOPE_RULES_FILE): most panels query the recording rules")
	}
	ruleFiles := []string{rules}
	if a := filepath.Join(filepath.Dir(rules), "alerts.yml"); fileExists(a) {
		ruleFiles = append(ruleFiles, a)
	}

	srv := promtest.StartGolden(t, promtest.GoldenPages(t, root), ruleFiles...)

	checks := Checks(goldenValues)
	for k := range noData {
		found := false
		for _, c := range checks {
			found = found || c.Key == k
		}
		if !found {
			t.Errorf("noData lists %s, which is no query", k)
		}
	}
	byKey := make(map[string][]string, len(checks))
	for _, c := range checks {
		for _, e := range c.Exprs {
			if m := VarRef.FindString(e); m != "" {
				t.Fatalf("%s: variable %s left unsubstituted in %s", c.Key, m, e)
			}
		}
		byKey[c.Key] = c.Exprs
	}
	srv.AwaitData(t, byKey, noData, 100*time.Second)
}
