package promtest

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// GoldenPages reads the committed golden pages the rule and join tests
// scrape, keyed by scrape job: each node agent scenario
// (collectors/node/testdata/golden/scenario-NAME.prom: time-sliced, MPS,
// Slinky, MIG, and node1, the node of jobscope slurm's golden page) as
// node-NAME, and jobscope slurm's v0.0.44 page as slurm. root is the
// module's root as seen from the test's directory.
func GoldenPages(t testing.TB, root string) map[string][]byte {
	t.Helper()
	scenarios, err := filepath.Glob(filepath.Join(root, "collectors", "node", "testdata", "golden", "scenario-*.prom"))
	if err != nil || len(scenarios) < 5 {
		t.Fatalf("node scenario goldens: %v %v", scenarios, err)
	}
	files := map[string]string{"slurm": filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-v0.0.44.prom")}
	for _, s := range scenarios {
		files["node-"+strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "scenario-"), ".prom")] = s
	}
	pages := make(map[string][]byte, len(files))
	for job, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[job] = b
	}
	return pages
}

// ServeTargets serves pages (by scrape job name) on a loopback server and
// returns one target per page, each its own scrape job as each node is its
// own target, with labels as target labels, sorted by job.
func ServeTargets(t testing.TB, pages map[string][]byte, labels map[string]string) []Target {
	t.Helper()
	byPath := make(map[string][]byte, len(pages))
	for job, b := range pages {
		byPath["/"+job] = b
	}
	urls := ServePages(t, byPath)
	targets := make([]Target, 0, len(pages))
	for job := range pages {
		targets = append(targets, Target{Job: job, URLs: []string{urls["/"+job]}, Labels: labels})
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Job < targets[j].Job })
	return targets
}
