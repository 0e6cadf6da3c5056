package alerts

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// runbookBase is where every alert's runbook_url points: runbookBase + alertname + ".md", a
// file that must exist under docs/runbooks.
const runbookBase = "https://github.com/jobscope/jobscope/blob/main/docs/runbooks/"

var severities = map[string]bool{"page": true, "warning": true, "info": true}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in alerts/: %v", err)
	}
	return files
}

func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("tests/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool test files in alerts/tests: %v", err)
	}
	return files
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var all []rule
	for _, f := range ruleFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.UnmarshalStrict(b, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			all = append(all, g.Rules...)
		}
	}
	return all
}

// promtool returns the promtool binary, skipping the test where it is absent, except in CI
// (env CI set), where its absence is a failure: CI installs Debian's prometheus package.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found and CI is set: install Debian's prometheus package (make deps)")
		}
		t.Skip("promtool not found: install Debian's prometheus package (apt-get install prometheus) to check the rules")
	}
	return p
}

func TestPromtoolCheckRules(t *testing.T) {
	bin := promtool(t)
	args := append([]string{"check", "rules", "--lint=all", "--lint-fatal"}, ruleFiles(t)...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	bin := promtool(t)
	for _, f := range testFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			// promtool resolves rule_files relative to the test file.
			cmd := exec.Command(bin, "test", "rules", filepath.Base(f))
			cmd.Dir = filepath.Dir(f)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("promtool test rules %s: %v\n%s", f, err, out)
			}
		})
	}
}

func TestAlertsAnnotatedWithRunbooks(t *testing.T) {
	alerts := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if alerts[r.Alert] {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		alerts[r.Alert] = true
		if !severities[r.Labels["severity"]] {
			t.Errorf("alert %s: severity %q, want page, warning or info", r.Alert, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("alert %s has no %s annotation", r.Alert, a)
			}
		}
		if want := runbookBase + r.Alert + ".md"; r.Annotations["runbook_url"] != want {
			t.Errorf("alert %s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if _, err := os.Stat(filepath.Join("..", "docs", "runbooks", r.Alert+".md")); err != nil {
			t.Errorf("alert %s has no runbook: %v", r.Alert, err)
		}
	}
	books, err := filepath.Glob(filepath.Join("..", "docs", "runbooks", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range books {
		name := strings.TrimSuffix(filepath.Base(b), ".md")
		if name != "README" && !alerts[name] {
			t.Errorf("runbook %s belongs to no alert", b)
		}
	}
}

// groupingRE finds every on(), by(), without(), ignoring() list; group_left/group_right
// lists name labels to copy, not to match on, and are not matched (\b excludes "_").
var groupingRE = regexp.MustCompile(`\b(on|by|without|ignoring)\s*\(([^)]*)\)`)

func TestGroupingKeepsCluster(t *testing.T) {
	for _, r := range loadRules(t) {
		name := r.Record + r.Alert
		for _, m := range groupingRE.FindAllStringSubmatch(stripStrings(r.Expr), -1) {
			labels := map[string]bool{}
			for _, l := range strings.Split(m[2], ",") {
				labels[strings.TrimSpace(l)] = true
			}
			switch m[1] {
			case "on", "by":
				if !labels["cluster"] {
					t.Errorf("%s: %s without cluster: %s", name, m[1], m[0])
				}
			case "without", "ignoring":
				if labels["cluster"] {
					t.Errorf("%s: %s drops cluster: %s", name, m[1], m[0])
				}
			}
		}
	}
}

var recordNameRE = regexp.MustCompile(`^[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+$`)

func TestRecordNames(t *testing.T) {
	for _, r := range loadRules(t) {
		if r.Record != "" && !recordNameRE.MatchString(r.Record) {
			t.Errorf("recording rule %s is not named level:metric:operations", r.Record)
		}
	}
}

// Every alert is tested by promtool: firing in some alert_rule_test, and silent in another
// (the step just before its `for` runs out).
func TestEveryAlertTested(t *testing.T) {
	type testFile struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string        `yaml:"alertname"`
				ExpAlerts []interface{} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, f := range testFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf testFile
		if err := yaml.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if !fires[r.Alert] {
			t.Errorf("alert %s: no promtool test where it fires", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("alert %s: no promtool test where it is silent", r.Alert)
		}
	}
}

// Series Prometheus itself writes for every target.
var prometheusNames = map[string]bool{"up": true, "scrape_duration_seconds": true}

func TestRulesReadDocumentedMetrics(t *testing.T) {
	documented := map[string]bool{}
	docs, _ := filepath.Glob(filepath.Join("..", "docs", "metrics*.md"))
	docs = append(docs, filepath.Join("..", "docs", "names.md"))
	nameInDoc := regexp.MustCompile("`([a-z_][a-z0-9_]*)[`{]")
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameInDoc.FindAllSubmatch(b, -1) {
			documented[string(m[1])] = true
		}
	}
	rules := loadRules(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		recorded[r.Record] = true
	}
	var missing []string
	seen := map[string]bool{}
	for _, r := range rules {
		for _, n := range metricNames(r.Expr) {
			if seen[n] {
				continue
			}
			seen[n] = true
			switch {
			case recorded[n], prometheusNames[n], documented[n]:
			default:
				missing = append(missing, fmt.Sprintf("%s (read by %s%s)", n, r.Record, r.Alert))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("metric %s is neither recorded by a rule nor listed in docs/metrics*.md or docs/names.md", m)
	}
}

func TestAlertsDocListsEveryRule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range loadRules(t) {
		if n := r.Record + r.Alert; !bytes.Contains(b, []byte("`"+n+"`")) {
			t.Errorf("docs/alerts.md does not list %s", n)
		}
	}
}

var (
	stringRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// a label matcher block, a range or subquery, or a grouping/matching list
	skipRE  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:on|by|without|ignoring|group_left|group_right)\s*\([^)]*\)`)
	tokenRE = regexp.MustCompile(`[0-9][0-9a-zA-Z._]*|[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
)

var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"Inf": true, "NaN": true, "on": true, "by": true, "without": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

func stripStrings(expr string) string { return stringRE.ReplaceAllString(expr, `""`) }

// metricNames returns the metric names an expression reads. A regexp tokenizer, not the
// PromQL parser (github.com/prometheus/prometheus is not a dependency and would bring in
// hundreds of modules): string literals, label matchers, ranges and grouping lists are removed
// first; what remains are numbers, keywords, functions and aggregations (followed by "(") and
// metric names. promtool check rules has parsed the same expressions.
func metricNames(expr string) []string {
	e := skipRE.ReplaceAllString(stripStrings(expr), " ")
	var names []string
	for _, tok := range tokenRE.FindAllString(e, -1) {
		if tok[0] >= '0' && tok[0] <= '9' || strings.HasSuffix(tok, "(") {
			continue
		}
		tok = strings.TrimSpace(tok)
		if keywords[tok] {
			continue
		}
		names = append(names, tok)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`max by (cluster, uuid) (rate(a_total{x="b(c)"}[5m])) * on (cluster) group_left (node) b:c:d > bool 1e+6 or sum (c offset 10m) and d`)
	want := []string{"a_total", "b:c:d", "c", "d"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
}
