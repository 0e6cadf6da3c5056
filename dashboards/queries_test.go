package dashboards

import (
	"path/filepath"
	"regexp"
	"strings"
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
// (job 1001 is on node1 with Slurm's page; cluster c2 is the Slurm 22.05
// page with a pending queue and gpu-b07, where job 4 has its host side).
var (
	multiVars = map[string]string{"node": ".*", "partition": ".*", "k8s_namespace": ".*"}
	clusters  = []string{"c1", "c2"}
	jobIDs    = []string{"1001", "4", "2001", "77"}
	builtins  = map[string]string{"$__rate_interval": "30s", "$__range": "1h", "$__interval": "15s"}
)

var varRef = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)

// substitute writes every variable's value into expr, one expression per
// combination of the single-value variables it uses.
func substitute(expr string) []string {
	for k, v := range builtins {
		expr = strings.ReplaceAll(expr, k, v)
	}
	for k, v := range multiVars {
		expr = strings.ReplaceAll(expr, "$"+k, v)
	}
	var out []string
	for _, c := range clusters {
		e := strings.ReplaceAll(expr, "$cluster", c)
		if !strings.Contains(e, "$job_id") {
			out = append(out, e)
			continue
		}
		for _, j := range jobIDs {
			out = append(out, strings.ReplaceAll(e, "$job_id", j))
		}
	}
	return out
}

// labelValuesQuery is the PromQL a label_values(selector, label) variable
// asks Prometheus' series API for.
func labelValuesQuery(v Var) string {
	return "count by (" + v.LabelName + ") (" + v.Selector + ")"
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

	type check struct {
		key   string
		exprs []string
	}
	var checks []check
	for _, d := range All() {
		for _, v := range d.Variables() {
			checks = append(checks, check{d.UID() + " var " + v.Name, substitute(labelValuesQuery(v))})
		}
		for _, p := range d.Panels() {
			for i, q := range p.Queries {
				checks = append(checks, check{panelKey(d, p, i), substitute(q.Expr)})
			}
		}
	}
	for _, c := range checks {
		for _, e := range c.exprs {
			if m := varRef.FindString(e); m != "" {
				t.Fatalf("%s: variable %s left unsubstituted in %s", c.key, m, e)
			}
		}
	}

	byKey := make(map[string][]string, len(checks))
	for _, c := range checks {
		byKey[c.key] = c.exprs
	}
	srv.AwaitData(t, byKey, noData, 100*time.Second)
}
