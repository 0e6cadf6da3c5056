package dashboards

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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

// page merges exposition pages into one, as one agent serves all its
// collectors: a series (family and labels) already in an earlier page is
// kept from it, the others are added.
func page(t *testing.T, paths ...string) []byte {
	t.Helper()
	fams := map[string]*dto.MetricFamily{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		got, err := parser.TextToMetricFamilies(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for n, mf := range got {
			have, ok := fams[n]
			if !ok {
				fams[n] = mf
				continue
			}
			seen := map[string]bool{}
			for _, m := range have.Metric {
				seen[labelKey(m)] = true
			}
			for _, m := range mf.Metric {
				if !seen[labelKey(m)] {
					have.Metric = append(have.Metric, m)
				}
			}
		}
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		if _, err := expfmt.MetricFamilyToText(&b, fams[n]); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func labelKey(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.GetLabel() {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
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

	golden := filepath.Join(root, "collectors", "node", "testdata", "golden")
	ib := filepath.Join(root, "collectors", "infiniband", "testdata", "golden")
	pages := map[string][]byte{}
	var targets []promtest.Target
	add := func(job, cluster string, b []byte) {
		pages["/"+job] = b
		targets = append(targets, promtest.Target{Job: job, Labels: map[string]string{"cluster": cluster}})
	}
	scenarios, _ := filepath.Glob(filepath.Join(golden, "scenario-*.prom"))
	for _, s := range scenarios {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "scenario-"), ".prom")
		paths := []string{s}
		if name == "node1" {
			// node1's agent also reads a ConnectX-7 port, as a GPU node's agent does.
			paths = append(paths, filepath.Join(ib, "gpud_cx7.prom"))
		}
		add("node-"+name, "c1", page(t, paths...))
	}
	// The nvml mock node (gpu-b07: a lost GPU, an XID, GPM activity, the
	// host side of job 4) with an mlx5 port and an hfi1 port with its hw_counters.
	add("node-gpu-b07", "c1", page(t, filepath.Join(golden, "mock-h100-node.prom"),
		filepath.Join(ib, "yuuki_basic.prom"), filepath.Join(ib, "procfs.prom")))
	add("slurm", "c1", page(t, filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-v0.0.44.prom")))
	add("slurm-2205", "c2", page(t, filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-v0.0.38.prom")))
	urls := promtest.ServePages(t, pages)
	for i := range targets {
		targets[i].URLs = []string{urls["/"+targets[i].Job]}
	}
	srv := promtest.Start(t, promtest.Config{Targets: targets, RuleFiles: ruleFiles})
	srv.WaitScraped(t, 30*time.Second)

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
	for _, c := range checks {
		for _, e := range c.Exprs {
			if m := VarRef.FindString(e); m != "" {
				t.Fatalf("%s: variable %s left unsubstituted in %s", c.Key, m, e)
			}
		}
	}

	// Rates need two samples and the daily rules a first minute boundary
	// (their subqueries step on whole minutes): poll until every query has
	// data or the deadline passes.
	ctx := context.Background()
	pending := map[string][]string{}
	for _, c := range checks {
		pending[c.Key] = c.Exprs
	}
	deadline := time.Now().Add(100 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) {
		for key, exprs := range pending {
			for _, e := range exprs {
				vec, err := srv.Query(ctx, e)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					delete(pending, key)
					break
				}
				if len(vec) > 0 {
					delete(pending, key)
					if reason, ok := noData[key]; ok {
						t.Errorf("%s returns data but noData says %q: remove it from the list", key, reason)
					}
					break
				}
			}
		}
		// Everything left is either allowed to be empty or still waiting.
		waiting := false
		for key := range pending {
			if _, ok := noData[key]; !ok {
				waiting = true
			}
		}
		if !waiting && time.Now().After(deadline.Add(-80*time.Second)) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if reason, ok := noData[k]; ok {
			t.Logf("%s: no data, as expected: %s", k, reason)
			continue
		}
		t.Errorf("%s: no data on the golden pages for any test value\n%s", k, pending[k][0])
	}
}
