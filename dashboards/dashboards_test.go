package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const root = ".."

// The committed JSON and docs/dashboards.md are what the definitions give
// (run `make generate` after changing a dashboard).
func TestGeneratedInSync(t *testing.T) {
	files, err := Render(root)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s: %v (run make generate)", rel, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the definitions generate (run make generate)", rel)
		}
	}
	on, _ := filepath.Glob(filepath.Join(root, JSONDir, "*.json"))
	for _, f := range on {
		rel, _ := filepath.Rel(root, f)
		if _, ok := files[rel]; !ok {
			t.Errorf("%s: no dashboard definition writes it (run make generate)", rel)
		}
	}
}

// Every committed dashboard decodes through the SDK's strict decoder
// (unknown fields, wrong types and missing required fields are errors) and
// encodes back to the same JSON.
func TestStrictRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	files, _ := filepath.Glob(filepath.Join(root, JSONDir, "*.json"))
	if len(files) != len(All()) {
		t.Fatalf("%d JSON files for %d dashboards", len(files), len(All()))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard.Dashboard
		if err := strictDecode(&d, raw); err != nil {
			t.Errorf("%s: strict decode: %v", f, err)
			continue
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(again, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: decoding and encoding again changes the dashboard", f)
		}
	}
}

// The strict decoder is strict: an unknown field is refused.
func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, err := Overview().JSON()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(raw, []byte(`"uid": "jobscope-overview"`), []byte(`"uid": "jobscope-overview", "uidd": 1`), 1)
	var d dashboard.Dashboard
	if err := strictDecode(&d, bad); err == nil {
		t.Fatal("strict decode accepted an unknown field")
	}
	// Inside a panel, a query and a table's options too.
	for _, c := range []struct{ old, new string }{
		{`"title": "Top idle GPU holders"`, `"title": "Top idle GPU holders", "titel": 1`},
		{`"refId": "A"`, `"refId": "A", "exprr": "x"`},
		{`"showHeader": true`, `"showHeader": true, "showHeaders": true`},
		{`"showHeader": true`, `"showHeader": "yes"`},
	} {
		bad := bytes.Replace(raw, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(bad, raw) {
			t.Fatalf("%s not in the overview's JSON", c.old)
		}
		if err := strictDecode(&d, bad); err == nil {
			t.Errorf("strict decode accepted %s", c.new)
		}
	}
}

// strictDecode is the SDK's strict decoder (unknown fields, wrong types and
// missing required fields are errors). v0.0.22's strict decoders return an
// empty cog.BuildErrors (a typed nil in a non-nil error) on success, which
// counts as success here. The same typed nil makes the nested decoders
// (PanelOrRowPanel, the dataquery and panel-options variants) drop what they
// decoded, so the value is decoded again with the SDK's ordinary decoder:
// strict for the errors, ordinary for the round trip.
func strictDecode(d *dashboard.Dashboard, raw []byte) error {
	if err := noErrors(d.UnmarshalJSONStrict(raw)); err != nil {
		return err
	}
	*d = dashboard.Dashboard{}
	return json.Unmarshal(raw, d)
}

func noErrors(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

var rangeRe = regexp.MustCompile(`\b(rate|irate|increase|delta|deriv)\((?:[^()\[\]]|\([^()]*\))*\[([^\]]+)\]`)

func TestConventions(t *testing.T) {
	uids := map[string]bool{}
	for _, d := range All() {
		if d.UID() != "jobscope-"+d.Name || uids[d.UID()] || len(d.UID()) > 40 {
			t.Errorf("%s: uid must be jobscope-<name>, unique, at most 40 characters", d.UID())
		}
		uids[d.UID()] = true
		if d.Description == "" {
			t.Errorf("%s: no description", d.UID())
		}
		ids := map[uint32]bool{}
		for _, p := range d.Panels() {
			where := d.UID() + " panel " + p.Title
			if p.ID == 0 || ids[p.ID] {
				t.Errorf("%s: id %d zero or not unique", where, p.ID)
			}
			ids[p.ID] = true
			if p.Unit == "" {
				t.Errorf("%s: no unit", where)
			}
			if !strings.Contains(p.Description, "?") {
				t.Errorf("%s: the description must ask the question the panel answers", where)
			}
			if len(p.Queries) == 0 {
				t.Errorf("%s: no query", where)
			}
			for _, q := range p.Queries {
				for _, m := range rangeRe.FindAllStringSubmatch(q.Expr, -1) {
					if m[2] != "$__rate_interval" && m[2] != "$__range" {
						t.Errorf("%s: %s(...[%s]): use $__rate_interval", where, m[1], m[2])
					}
				}
				// Tables that list jobs or nodes link to their drill-down.
				if p.Kind == Table && d.Name != "job" && strings.Contains(q.Expr, "job_id") && !hasLink(p, "var-job_id") {
					t.Errorf("%s: lists jobs without a link to the job drill-down", where)
				}
			}
		}
	}
}

func hasLink(p Panel, s string) bool {
	for _, l := range p.Links {
		if strings.Contains(l.URL, s) {
			return true
		}
	}
	return false
}

// Open OnDemand's cluster configs name these panel ids: they never change.
func TestOnDemandPanels(t *testing.T) {
	if JobPanelGPU != 10 || JobPanelCPU != 20 || JobPanelMemory != 21 {
		t.Fatal("the OnDemand panel ids changed: sites' cluster configs point at 10, 20, 21")
	}
	j := Job()
	if j.UID() != "jobscope-job" {
		t.Fatal("the job drill-down's uid changed")
	}
	vars := map[string]bool{}
	for _, v := range j.Variables() {
		vars[v.Name] = true
	}
	for _, v := range []string{"cluster", "node", "job_id"} {
		if !vars[v] {
			t.Errorf("the job drill-down lacks variable %s that OnDemand passes", v)
		}
	}
	found := 0
	for _, p := range j.Panels() {
		if p.ID == JobPanelGPU || p.ID == JobPanelCPU || p.ID == JobPanelMemory {
			found++
			for _, q := range p.Queries {
				if !strings.Contains(q.Expr, `job_id="$job_id"`) || !strings.Contains(q.Expr, `node=~"$node"`) {
					t.Errorf("panel %d: %s does not select the job and host OnDemand passes", p.ID, q.Expr)
				}
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the 3 OnDemand panels", found)
	}
}

// promOwn are the series Prometheus itself makes for every target or alert.
var promOwn = map[string]bool{"up": true, "scrape_duration_seconds": true, "ALERTS": true}

var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{`)
	nameRe   = regexp.MustCompile(`__name__=~"([^"]*)"`)
	docName  = regexp.MustCompile("(?m)^\\| `(jobscope_[a-z0-9_]+)` \\| ([a-z]+) ")
	bareName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	recordRe = regexp.MustCompile(`(?m)^\s*- record:\s*(\S+)`)
)

// metricNames returns the metric names an expression selects. Every
// selector of the dashboards carries a matcher, so a name is followed by {;
// a {__name__=~"a|b"} selector names a and b.
func metricNames(expr string) []string {
	var out []string
	if bareName.MatchString(expr) {
		return []string{expr}
	}
	for _, m := range nameRe.FindAllStringSubmatch(expr, -1) {
		out = append(out, strings.Split(m[1], "|")...)
	}
	bare := quoted.ReplaceAllString(expr, `""`)
	for _, m := range selector.FindAllStringSubmatch(bare, -1) {
		if m[1] != "by" && m[1] != "without" && m[1] != "on" && m[1] != "ignoring" {
			out = append(out, m[1])
		}
	}
	return out
}

// allQueries is every panel and variable query, by where it is.
func allQueries() map[string]string {
	out := map[string]string{}
	for _, d := range All() {
		for _, v := range d.Variables() {
			out[d.UID()+" var "+v.Name] = v.Selector
		}
		for _, p := range d.Panels() {
			for i, q := range p.Queries {
				out[PanelKey(d, p, i)] = q.Expr
			}
		}
	}
	return out
}

// rulesFile is alerts/rules.yml, or (until the alerts branch lands) the
// file JOBSCOPE_RULES_FILE names; "" when neither exists.
func rulesFile() string {
	if f := filepath.Join(root, "alerts", "rules.yml"); fileExists(f) {
		return f
	}
	if f := os.Getenv("JOBSCOPE_RULES_FILE"); f != "" && fileExists(f) {
		return f
	}
	return ""
}

func fileExists(f string) bool { _, err := os.Stat(f); return err == nil }

// Every metric a dashboard queries is one jobscope emits (docs/metrics*.md,
// which tests keep equal to the binaries) or a recording rule.
func TestMetricNamesExist(t *testing.T) {
	known := map[string]bool{}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "metrics*.md"))
	for _, f := range docs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docName.FindAllStringSubmatch(string(b), -1) {
			known[m[1]] = true
			if m[2] == "histogram" { // queried by its series' names
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					known[m[1]+suffix] = true
				}
			}
		}
	}
	if len(known) < 100 {
		t.Fatalf("found %d metric names in %v", len(known), docs)
	}
	rules := rulesFile()
	if rules != "" {
		b, err := os.ReadFile(rules)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range recordRe.FindAllStringSubmatch(string(b), -1) {
			known[m[1]] = true
		}
	}
	var unchecked []string
	qs := allQueries()
	keys := make([]string, 0, len(qs))
	for k := range qs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names := metricNames(qs[k])
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %s", k, qs[k])
		}
		for _, n := range names {
			switch {
			case known[n] || promOwn[n]:
			case strings.Contains(n, ":") && rules == "":
				unchecked = append(unchecked, n)
			default:
				t.Errorf("%s: %s is neither emitted by jobscope (docs/metrics*.md) nor recorded by %s", k, n, rules)
			}
		}
	}
	if len(unchecked) > 0 {
		t.Skipf("no alerts/rules.yml (nor JOBSCOPE_RULES_FILE): %d recording-rule references unchecked", len(unchecked))
	}
}
