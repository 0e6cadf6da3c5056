package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "jobscope"

// sourceEdges lists, for every source package, the other jobscope
// packages its non-test code may import. Sources reach each other only
// through a model (slurm, gpu) or through the reader they exist to join
// (tenancy joins GPUs, kubelet pods and Slurm's node-local jobs).
var sourceEdges = map[string][]string{
	"slurm":                          nil,
	"slurm/openapi":                  {"slurm"},
	"slurm/openapi/internal/specgen": nil,
	"slurm/cli":                      {"slurm", "slurm/openapi"},
	"slurm/rest":                     {"slurm", "slurm/openapi"},
	"slurm/poller":                   {"slurm", "internal/flagvalue"},
	// source picks the rest or cli reader from the command line: the one
	// place that knows both.
	"slurm/source":        {"slurm", "slurm/rest", "slurm/cli", "internal/flagvalue"},
	"slurm/nodelocal":     nil,
	"gpu":                 nil,
	"gpu/nvml":            {"gpu"},
	"gpu/dcgm":            {"gpu"},
	"gpu/simulated":       {"gpu"},
	"gpu/gputest":         nil,
	"gpu/backend":         {"gpu", "gpu/nvml", "gpu/dcgm", "gpu/simulated", "internal/flagvalue"}, // picks one from the flags, like slurm/source
	"kubelet":             nil,
	"kubelet/kubelettest": nil,
	"tenancy":             {"gpu", "kubelet", "slurm/nodelocal", "internal/flagvalue"},
	"infiniband":          nil,
	// flag values shared by every package that registers flags.
	"internal/flagvalue": nil,
	"internal/memlimit":  {"internal/flagvalue"},
	// report reads Prometheus's HTTP API, not the sources: it sees only
	// what the two commands exported. reporttest backfills its fixtures
	// into a real Prometheus.
	"report": nil,
	// alerts holds rule files; its Go code is the test that runs promtool.
	"alerts":            nil,
	"report/reporttest": {"test/promtest"},
	// dashboard definitions (Grafana SDK only) and their generator.
	"dashboards":     nil,
	"dashboards/gen": {"dashboards"},
}

// apiClients may import client_golang's HTTP API client (api/...), which
// queries a Prometheus server; the metrics library stays in collectors/
// and cmd/.
var apiClients = map[string]bool{
	"report": true,
}

// testEdges are the extra imports a source's tests may make: test support
// packages (fakes, payload generators) and, for the REST source, the
// poller it is driven by in its end-to-end test.
var testEdges = map[string][]string{
	"slurm/openapi": {"test/loadgen"},
	"slurm/rest":    {"slurm/poller", "test/loadgen"},
	"gpu/nvml":      {"gpu/gputest"},
	"kubelet":       {"kubelet/kubelettest"},
	"report":        {"report/reporttest", "test/golden"},
	// the dashboards' queries run on a real Prometheus.
	"dashboards": {"test/promtest"},
}

// testSupport may be imported by every source's tests: it imports no
// jobscope package (and not client_golang), so it joins no sources.
var testSupport = []string{"test/testkit"}

// promExempt are the test-only support packages outside collectors/ and
// cmd/ that may import client_golang; only tests import them.
// test/golden compares collectors' pages and lints their metrics, so it
// needs the registry types; test/promtest queries a real Prometheus through
// client_golang's HTTP API client.
var promExempt = map[string]bool{
	"test/golden":   true,
	"test/promtest": true,
}

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

func TestImportRules(t *testing.T) {
	pkgs, err := listModule()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; is the test running inside the module?", len(pkgs))
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations feeds check the imports the rules exist to
// forbid, so a check that silently passes everything fails here.
func TestRulesCatchViolations(t *testing.T) {
	cases := []struct {
		name string
		pkg  pkg
		want string
	}{
		{"source imports the metrics tree",
			pkg{ImportPath: "jobscope/gpu/dcgm", Imports: []string{"jobscope/gpu", "jobscope/collectors/node"}},
			"imports jobscope/collectors/node"},
		{"the report imports the metrics library",
			pkg{ImportPath: "jobscope/report", Imports: []string{"github.com/prometheus/client_golang/api", "github.com/prometheus/client_golang/prometheus"}},
			"imports github.com/prometheus/client_golang/prometheus:"},
		{"source imports client_golang",
			pkg{ImportPath: "jobscope/kubelet", Imports: []string{"github.com/prometheus/client_golang/prometheus"}},
			"imports github.com/prometheus/client_golang/prometheus"},
		{"test of a source imports the metrics tree",
			pkg{ImportPath: "jobscope/tenancy", XTestImports: []string{"jobscope/collectors"}},
			"imports jobscope/collectors"},
		{"source imports a source around its model",
			pkg{ImportPath: "jobscope/gpu/dcgm", Imports: []string{"jobscope/gpu", "jobscope/gpu/nvml"}},
			"gpu/dcgm -> gpu/nvml"},
		{"model imports a backend",
			pkg{ImportPath: "jobscope/gpu", Imports: []string{"jobscope/gpu/simulated"}},
			"gpu -> gpu/simulated"},
		{"unlisted source",
			pkg{ImportPath: "jobscope/newsource"},
			"not in sourceEdges"},
		{"test-only edge used by production code",
			pkg{ImportPath: "jobscope/gpu/nvml", Imports: []string{"jobscope/gpu/gputest"}},
			"gpu/nvml -> gpu/gputest"},
	}
	for _, c := range cases {
		got := check([]pkg{c.pkg})
		if len(got) != 1 || !strings.Contains(got[0], c.want) {
			t.Errorf("%s: check = %q, want one violation containing %q", c.name, got, c.want)
		}
	}
	allowed := []pkg{
		{ImportPath: "jobscope/collectors/node", Imports: []string{"github.com/prometheus/client_golang/prometheus", "jobscope/collectors", "jobscope/gpu"}},
		{ImportPath: "jobscope/cmd/jobscope", Imports: []string{"jobscope/collectors/node", "jobscope/gpu/nvml"}},
		{ImportPath: "jobscope/tenancy", Imports: []string{"jobscope/gpu", "jobscope/kubelet", "jobscope/slurm/nodelocal", "sort"}},
		{ImportPath: "jobscope/gpu/nvml", XTestImports: []string{"jobscope/gpu", "jobscope/gpu/nvml", "jobscope/gpu/gputest"}},
		{ImportPath: "jobscope/slurm/poller", TestImports: []string{"jobscope/slurm", "jobscope/test/testkit"}},
		{ImportPath: "jobscope/test/golden", Imports: []string{"github.com/prometheus/client_golang/prometheus"}},
		{ImportPath: "jobscope/report", Imports: []string{"github.com/prometheus/client_golang/api", "github.com/prometheus/client_golang/api/prometheus/v1"}},
	}
	if got := check(allowed); len(got) != 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
}

// check returns one line per broken rule.
func check(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if p.Error != nil {
			out = append(out, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		rel, ok := within(p.ImportPath)
		if !ok || under(rel, "collectors") || under(rel, "cmd") {
			continue
		}
		all := [][]string{p.Imports, p.TestImports, p.XTestImports}
		for _, imps := range all {
			for _, imp := range imps {
				if imp == "github.com/prometheus/client_golang" || strings.HasPrefix(imp, "github.com/prometheus/client_golang/") {
					apiClient := strings.HasPrefix(imp, "github.com/prometheus/client_golang/api")
					if !promExempt[rel] && !(apiClient && apiClients[rel]) {
						out = append(out, fmt.Sprintf("%s imports %s: only collectors/ and cmd/ speak Prometheus", p.ImportPath, imp))
					}
				}
				if r, ok := within(imp); ok && under(r, "collectors") {
					out = append(out, fmt.Sprintf("%s imports %s: only cmd/ and collectors/ may import the metrics tree", p.ImportPath, imp))
				}
			}
		}
		if under(rel, "test") {
			continue
		}
		edges, listed := sourceEdges[rel]
		if !listed {
			out = append(out, fmt.Sprintf("%s is a source not in sourceEdges: list the sources it may import", p.ImportPath))
			continue
		}
		out = append(out, badEdges(rel, p.Imports, edges, "")...)
		testAllowed := append(append(append([]string{rel}, edges...), testEdges[rel]...), testSupport...)
		out = append(out, badEdges(rel, append(append([]string{}, p.TestImports...), p.XTestImports...), testAllowed, " (in tests)")...)
	}
	return sorted(out)
}

// sorted drops repeats (a package importing the same thing from its code
// and its tests) and orders the report.
func sorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// badEdges reports every jobscope import of rel outside allowed, skipping
// the metrics tree, which the rule above already reports.
func badEdges(rel string, imports, allowed []string, where string) []string {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, imp := range imports {
		r, in := within(imp)
		if !in || under(r, "collectors") || ok[r] || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, fmt.Sprintf("source edge %s -> %s%s is not in the allowed edges", rel, r, where))
	}
	return out
}

// within returns path relative to the module ("" for the module root).
func within(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

func under(rel, dir string) bool {
	return rel == dir || strings.HasPrefix(rel, dir+"/")
}

// listModule runs go list over the whole module (this test sits two
// levels below its root).
func listModule() ([]pkg, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
