// Package joins runs every PromQL example of docs/metrics*.md against a real
// Prometheus that scrapes the golden pages of both commands: the node
// agent's scenarios (collectors/node/testdata/golden/scenario-*.prom:
// time-sliced, MPS, Slinky, MIG, and node1, the node of cmd/jobscope's
// golden Slurm page) and jobscope slurm's page. A documented join that does
// not parse, or returns nothing where the doc promises a result, fails.
package joins

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobscope/test/promtest"
)

// query is one ```promql block.
type query struct {
	doc, expr string
	line      int
	expect    string // "" (non-empty result), "empty", "pending-rename"
}

var fence = regexp.MustCompile("(?ms)^```promql\\s*\\n(.*?)^```")

// docQueries extracts every ```promql block of the files; "# expect: X"
// lines in a block are directives, other # lines comments.
func docQueries(t *testing.T, files []string) []query {
	t.Helper()
	var out []query
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllSubmatchIndex(b, -1) {
			q := query{doc: filepath.Base(f), line: 1 + strings.Count(string(b[:m[0]]), "\n")}
			var lines []string
			for _, l := range strings.Split(string(b[m[2]:m[3]]), "\n") {
				if d, ok := strings.CutPrefix(strings.TrimSpace(l), "# expect:"); ok {
					q.expect = strings.TrimSpace(d)
					continue
				}
				if strings.HasPrefix(strings.TrimSpace(l), "#") {
					continue
				}
				lines = append(lines, l)
			}
			q.expr = strings.TrimSpace(strings.Join(lines, "\n"))
			out = append(out, q)
		}
	}
	return out
}

func TestDocumentedJoins(t *testing.T) {
	files, err := filepath.Glob("../../docs/metrics*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/metrics*.md: %v", err)
	}
	queries := docQueries(t, files)
	if len(queries) < 5 {
		t.Fatalf("found %d promql blocks in %v; the Joining sections have more", len(queries), files)
	}
	for _, q := range queries {
		switch q.expect {
		case "", "empty", "pending-rename":
		default:
			t.Errorf("%s:%d: unknown '# expect: %s'", q.doc, q.line, q.expect)
		}
	}

	pages := map[string][]byte{}
	var targets []promtest.Target
	add := func(job, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pages["/"+job] = b
	}
	scenarios, err := filepath.Glob("../../collectors/node/testdata/golden/scenario-*.prom")
	if err != nil || len(scenarios) < 5 {
		t.Fatalf("node scenario goldens: %v %v", scenarios, err)
	}
	jobs := map[string]string{}
	for _, s := range scenarios {
		job := "node-" + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "scenario-"), ".prom")
		add(job, s)
		jobs[job] = "/" + job
	}
	add("slurm", "../../cmd/jobscope/testdata/slurm-rest-v0.0.44.prom")
	jobs["slurm"] = "/slurm"
	urls := promtest.ServePages(t, pages)
	for job, path := range jobs {
		// Each page its own scrape job, as each node is its own target;
		// one cluster, as the joins' on (cluster, …) expect.
		targets = append(targets, promtest.Target{Job: job, URLs: []string{urls[path]}, Labels: map[string]string{"cluster": "c1"}})
	}
	srv := promtest.Start(t, promtest.Config{Targets: targets})
	srv.WaitScraped(t, 30*time.Second)

	for _, q := range queries {
		t.Run(q.doc+":"+strconv.Itoa(q.line), func(t *testing.T) {
			if q.expect == "pending-rename" {
				t.Skip("the cluster exporter's jobscope_slurm_* names have not landed")
			}
			got, err := waitResult(srv, q.expr, q.expect == "empty")
			if err != nil {
				t.Fatalf("%s:%d: %v\n%s", q.doc, q.line, err, q.expr)
			}
			switch {
			case q.expect == "empty" && len(got) > 0:
				t.Errorf("%s:%d: expected empty, got %v\n%s", q.doc, q.line, got, q.expr)
			case q.expect == "" && len(got) == 0:
				t.Errorf("%s:%d: empty result\n%s", q.doc, q.line, q.expr)
			}
			t.Logf("%s\n=> %v", q.expr, got)
		})
	}
}

// waitResult runs expr until it answers non-empty (or, for a query
// expected empty, once the data is in: the targets were scraped before).
// A parse or execution error is returned at once.
func waitResult(srv *promtest.Server, expr string, empty bool) ([]string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		vec, err := srv.Query(context.Background(), expr)
		if err != nil {
			return nil, err
		}
		if len(vec) > 0 || empty || time.Now().After(deadline) {
			out := make([]string, len(vec))
			for i, s := range vec {
				out[i] = s.String()
			}
			return out, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}
