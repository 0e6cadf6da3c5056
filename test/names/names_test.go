package names

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"jobscope/test/testkit"
)

// nativeDir holds Slurm's native pages and the Slinky exporter's names.
const nativeDir = "collectors/slurm/testdata/slurm-native"

// TestEmittedNames reads every golden page (the Makefile's GOLDEN list: *.prom
// under a testdata/ with "golden" in the path, and cmd/*/testdata/*.prom).
func TestEmittedNames(t *testing.T) {
	root := moduleRoot(t)
	native := nativeNames(t, root)
	pages := goldenPages(t, root)
	var cmdPages int
	for _, p := range pages {
		if strings.HasPrefix(p, "cmd/") {
			cmdPages++
		}
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		problems, err := check(f, native)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s", p, pr)
		}
	}
	// an empty walk must not pass: both commands' pages are expected
	if len(pages) < 4 || cmdPages == 0 {
		t.Fatalf("found %d golden pages (%d under cmd/), expected the slurm and node goldens: %v", len(pages), cmdPages, pages)
	}
	t.Logf("checked %d golden pages against %d native Slurm names", len(pages), len(native))
}

// TestCheckCatchesOldNames: a page in the names jobscope slurm used before
// the jobscope_ namespace (slurm_*, some of them Slurm's own) fails the
// check, for both reasons.
func TestCheckCatchesOldNames(t *testing.T) {
	native := nativeNames(t, moduleRoot(t))
	f, err := os.Open("testdata/pre-rename-excerpt.prom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	problems, err := check(f, native)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"slurm_info: label \"cluster\" is a target label the scrape config sets",
		"slurm_info: not under jobscope_",
		"slurm_node_memory_bytes: Slurm's own /metrics or the Slinky exporter emits this name",
		"slurm_node_memory_bytes: not under jobscope_",
		"slurm_nodes: Slurm's own /metrics or the Slinky exporter emits this name",
		"slurm_nodes: not under jobscope_",
		"slurm_poll_success: not under jobscope_",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// targetLabels are set by scrape configs and the Prometheus operator's
// monitors (docs/names.md): a series carrying one would, scraped with
// honor_labels, overwrite the target's (or, without it, be renamed
// exported_*), so jobscope emits none of them.
var targetLabels = []string{"cluster", "job", "instance", "namespace", "pod", "container", "service", "endpoint"}

// check lists every family of the page that breaks the rules, sorted.
func check(page io.Reader, native map[string]string) ([]string, error) {
	mfs, err := testkit.ParsePage(page)
	if err != nil {
		return nil, err
	}
	var problems []string
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "jobscope_") {
			problems = append(problems, name+": not under jobscope_")
		}
		if _, ok := native[name]; ok {
			problems = append(problems, name+": Slurm's own /metrics or the Slinky exporter emits this name")
		}
		seen := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if slices.Contains(targetLabels, l.GetName()) && !seen[l.GetName()] {
					seen[l.GetName()] = true
					problems = append(problems, fmt.Sprintf("%s: label %q is a target label the scrape config sets", name, l.GetName()))
				}
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// nativeNames parses Slurm's native pages with expfmt and adds the Slinky
// exporter's names (a plain list); the value says where a name comes from.
func nativeNames(t *testing.T, root string) map[string]string {
	t.Helper()
	dir := filepath.Join(root, nativeDir)
	pages, err := filepath.Glob(filepath.Join(dir, "metrics_*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, path := range pages {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// The recorded pages end without a newline after the last sample,
		// which the text parser requires; the files stay as recorded.
		mfs, err := testkit.ParsePage(io.MultiReader(f, strings.NewReader("\n")))
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for name := range mfs {
			names[name] = filepath.Base(path)
		}
	}
	f, err := os.Open(filepath.Join(dir, "slinky-exporter-names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			names[l] = "slinky-exporter-names.txt"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// the names the old slurm_* pages shared with Slurm's own /metrics and the
	// Slinky exporter must be in the list, or the check proves nothing
	for _, n := range []string{"slurm_jobs", "slurm_nodes", "slurm_node_cpus", "slurm_node_memory_bytes",
		"slurm_node_memory_free_bytes", "slurm_partition_cpus", "slurm_partition_nodes",
		"slurm_jobs_pending", "slurm_user_jobs", "slurm_account_jobs", "slurm_nodes_drain_total"} {
		if names[n] == "" {
			t.Fatalf("%s is not among the %d native names read from %s", n, len(names), dir)
		}
	}
	return names
}

// goldenPages lists the golden /metrics pages relative to root, sorted.
func goldenPages(t *testing.T, root string) []string {
	t.Helper()
	var pages []string
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if name := info.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if isGolden(rel) {
			pages = append(pages, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(pages)
	return pages
}

// isGolden is the Makefile's GOLDEN rule: a .prom under a testdata/ with
// "golden" in the path after it, or directly under cmd/*/testdata/.
func isGolden(rel string) bool {
	if !strings.HasSuffix(rel, ".prom") {
		return false
	}
	if i := strings.Index(rel, "/testdata/"); i >= 0 && strings.Contains(rel[i:], "golden") {
		return true
	}
	if ok, _ := filepath.Match("cmd/*/testdata/*", rel); ok {
		return true
	}
	return false
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal(fmt.Errorf("no go.mod above the test's directory"))
		}
		dir = parent
	}
}
