package promtest

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

	"jobscope/test/testkit"
)

// Page is one scrape target's page: a scrape job of its own (each node
// is its own target) in a cluster.
type Page struct {
	Job, Cluster string
	Body         []byte
}

// GoldenPages are the golden /metrics pages of both commands, as a
// cluster's scrape would see them (root is the repository root):
//   - cluster c1: every node scenario of collectors/node/testdata/golden
//     (time-sliced, MPS, Slinky, MIG under nvml and DCGM, and node1, the
//     node of job 1001 on jobscope slurm's golden page, whose agent also
//     reads a ConnectX-7 port) and jobscope slurm's page for slurmrestd
//     v0.0.44;
//   - cluster c2: jobscope slurm's page for Slurm 22.05 (v0.0.38, a
//     pending queue and several GPU jobs) and the nvml mock node gpu-b07
//     (a lost GPU, an XID, GPM activity, an mlx5 and an hfi1 port), whose
//     jobs 4 and 5 are that page's train-alice (2 GPUs, the host side from
//     its cgroup) and infer-bob (1 GPU).
func GoldenPages(t testing.TB, root string) []Page {
	t.Helper()
	golden := filepath.Join(root, "collectors", "node", "testdata", "golden")
	ib := filepath.Join(root, "collectors", "infiniband", "testdata", "golden")
	var pages []Page
	scenarios, err := filepath.Glob(filepath.Join(golden, "scenario-*.prom"))
	if err != nil || len(scenarios) < 5 {
		t.Fatalf("node scenario goldens under %s: %v %v", golden, scenarios, err)
	}
	for _, s := range scenarios {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "scenario-"), ".prom")
		paths := []string{s}
		if name == "node1" {
			paths = append(paths, filepath.Join(ib, "gpud_cx7.prom"))
		}
		pages = append(pages, Page{Job: "node-" + name, Cluster: "c1", Body: MergePages(t, paths...)})
	}
	pages = append(pages,
		Page{Job: "node-gpu-b07", Cluster: "c2", Body: MergePages(t, filepath.Join(golden, "mock-h100-node.prom"),
			filepath.Join(ib, "yuuki_basic.prom"), filepath.Join(ib, "procfs.prom"))},
		Page{Job: "slurm", Cluster: "c1", Body: MergePages(t, filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-v0.0.44.prom"))},
		Page{Job: "slurm-2205", Cluster: "c2", Body: MergePages(t, filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-v0.0.38.prom"))},
	)
	return pages
}

// StartGolden serves the pages and starts a Prometheus that scrapes each
// as its own job with its cluster as target label and evaluates the rule
// files; it returns once every target has been scraped.
func StartGolden(t testing.TB, pages []Page, ruleFiles ...string) *Server {
	t.Helper()
	srv := Start(t, Config{Targets: ServeGolden(t, pages), RuleFiles: ruleFiles})
	srv.WaitScraped(t, 30*time.Second)
	return srv
}

// ServeGolden serves the pages on a loopback server and returns one scrape
// target per page, its job named after the page and its cluster label set.
func ServeGolden(t testing.TB, pages []Page) []Target {
	t.Helper()
	bodies := make(map[string][]byte, len(pages))
	for _, p := range pages {
		bodies["/"+p.Job] = p.Body
	}
	urls := ServePages(t, bodies)
	targets := make([]Target, 0, len(pages))
	for _, p := range pages {
		targets = append(targets, Target{Job: p.Job, URLs: []string{urls["/"+p.Job]}, Labels: map[string]string{"cluster": p.Cluster}})
	}
	return targets
}

// MergePages merges exposition pages into one, as one agent serves all
// its collectors: a series (family and labels) already in an earlier page
// is kept from it, the others are added.
func MergePages(t testing.TB, paths ...string) []byte {
	t.Helper()
	fams := map[string]*dto.MetricFamily{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := testkit.ParsePage(f)
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

// AwaitData polls each check's expressions (any one answering counts)
// until every check has data or timeout passes: rates need two samples and
// daily rules a first minute boundary (their subqueries step on whole
// minutes). A check named in noData (with the reason it cannot have data
// on static pages) may stay empty, and fails when it has data, so such a
// list only shrinks; it is polled for at least 20 seconds. Any other check
// left empty, or a query error, fails the test.
func (s *Server) AwaitData(t testing.TB, checks map[string][]string, noData map[string]string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	pending := make(map[string][]string, len(checks))
	for k, exprs := range checks {
		pending[k] = exprs
	}
	for k := range noData {
		if _, ok := checks[k]; !ok {
			t.Errorf("the no-data list names %s, which is not checked", k)
		}
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for len(pending) > 0 && time.Now().Before(deadline) {
		for key, exprs := range pending {
			for _, e := range exprs {
				vec, err := s.Query(ctx, e)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					delete(pending, key)
					break
				}
				if len(vec) > 0 {
					delete(pending, key)
					if reason, ok := noData[key]; ok {
						t.Errorf("%s returns data but the no-data list says %q: remove it from the list", key, reason)
					}
					break
				}
			}
		}
		waiting := false
		for key := range pending {
			if _, ok := noData[key]; !ok {
				waiting = true
			}
		}
		if !waiting && time.Since(start) > 20*time.Second {
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
		t.Errorf("%s: no data\n%s", k, pending[k][0])
	}
}
