package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Update is the -update flag: rewrite golden files and generated doc
// sections instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite golden files and generated doc sections")

// Check compares got with the file at path, or with -update rewrites it.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, Diff(string(want), string(got)))
	}
}

// Diff lists the lines only in a ("- ") and only in b ("+ ").
func Diff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	am, bm := in(a), in(b)
	var out strings.Builder
	for _, l := range strings.Split(a, "\n") {
		if !bm[l] {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !am[l] {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}

// Text renders families in the text exposition format, in the order given.
func Text(t testing.TB, mfs []*dto.MetricFamily) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// Lint reports every promlint problem of a text-format page as an error.
func Lint(t testing.TB, page []byte) {
	t.Helper()
	problems, err := promlint.New(bytes.NewReader(page)).Lint()
	report(t, problems, err)
}

// LintGatherer reports every promlint problem of what g gathers as an error.
func LintGatherer(t testing.TB, g prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(g)
	report(t, problems, err)
}

func report(t testing.TB, problems []promlint.Problem, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// MetricsTable is the Markdown table of families, sorted by name: type,
// the label names any series carries, and help.
func MetricsTable(families map[string]*dto.MetricFamily) string {
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| metric | type | labels | help |\n|---|---|---|---|\n")
	for _, n := range names {
		mf := families[n]
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		ls := make([]string, 0, len(labels))
		for l := range labels {
			ls = append(ls, "`"+l+"`")
		}
		sort.Strings(ls)
		help := strings.ReplaceAll(mf.GetHelp(), "|", "\\|")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", n, strings.ToLower(mf.GetType().String()), strings.Join(ls, " "), help)
	}
	return b.String()
}

// CheckDocSection compares the MetricsTable of families with the text
// between the markers of section in the doc at path, or with -update
// rewrites it there.
func CheckDocSection(t testing.TB, path, section string, families map[string]*dto.MetricFamily) {
	t.Helper()
	begin := "<!-- BEGIN GENERATED: " + section + " -->\n"
	end := "<!-- END GENERATED: " + section + " -->"
	table := MetricsTable(families)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", path, begin, end)
	}
	if string(doc[i+len(begin):j]) == table {
		return
	}
	if *Update {
		out := append([]byte{}, doc[:i+len(begin)]...)
		out = append(out, table...)
		out = append(out, doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is not what is emitted (go test -update rewrites it); want:\n%s", path, table)
}

// CheckDocNames compares the metric names of a hand-written doc, the first
// cell of its table rows that starts with prefix, with the names emitted.
func CheckDocNames(t testing.TB, path, prefix string, emitted map[string]bool) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `(" + regexp.QuoteMeta(prefix) + "[a-z_]+)` \\|")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	var missing, extra []string
	for name := range emitted {
		if !documented[name] {
			missing = append(missing, name)
		}
	}
	for name := range documented {
		if !emitted[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("emitted but not in %s: %s", path, strings.Join(missing, " "))
	}
	if len(extra) > 0 {
		t.Errorf("documented in %s but never emitted: %s", path, strings.Join(extra, " "))
	}
}
