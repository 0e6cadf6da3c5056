package dashboards

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// What the tests that run every dashboard query against a Prometheus share
// (dashboards' own test on golden pages, test/e2e on the local Slurm
// cluster): the list of queries and Grafana's variables written in.

// Check is one query of a dashboard, ready to run: Key names it
// ("<uid>/<panel id>/<A..>" for a panel's query, "<uid> var <name>" for a
// variable's), Exprs are its expression with each combination of test
// values written in.
type Check struct {
	Key   string
	Exprs []string
}

// Values are test values of the template variables, by name without "$":
// Fixed are written as they are (Grafana's $__rate_interval and the like,
// a multi-value variable's All regex ".*"); Choices are tried in turn,
// one expression per combination.
type Values struct {
	Fixed   map[string]string
	Choices map[string][]string
}

// VarRef finds a template variable reference ($name or ${name}).
var VarRef = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)

// Substitute writes the values into expr: one expression per combination
// of the Choices it uses. Longer names go first, so $node never eats the
// start of $node_name.
func (v Values) Substitute(expr string) []string {
	fixed := sortedByLength(v.Fixed)
	for _, k := range fixed {
		expr = replaceVar(expr, k, v.Fixed[k])
	}
	out := []string{expr}
	for _, k := range sortedByLength(v.Choices) {
		var next []string
		for _, e := range out {
			if !strings.Contains(e, "$"+k) && !strings.Contains(e, "${"+k+"}") {
				next = append(next, e)
				continue
			}
			for _, c := range v.Choices[k] {
				next = append(next, replaceVar(e, k, c))
			}
		}
		out = next
	}
	return out
}

func replaceVar(expr, name, value string) string {
	expr = strings.ReplaceAll(expr, "${"+name+"}", value)
	return strings.ReplaceAll(expr, "$"+name, value)
}

func sortedByLength[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}

// LabelValuesQuery is the PromQL a label_values(selector, label) variable
// asks Prometheus's series API for.
func (v Var) LabelValuesQuery() string {
	return "count by (" + v.LabelName + ") (" + v.Selector + ")"
}

// PanelKey names query i of panel p of d: "<uid>/<panel id>/<A..>".
func PanelKey(d Dashboard, p Panel, i int) string {
	return d.UID() + "/" + itoa(p.ID) + "/" + string(rune('A'+i))
}

// Checks lists every variable and panel query of every dashboard, with
// the values written in.
func Checks(vals Values) []Check {
	var checks []Check
	for _, d := range All() {
		for _, v := range d.Variables() {
			checks = append(checks, Check{d.UID() + " var " + v.Name, vals.Substitute(v.LabelValuesQuery())})
		}
		for _, p := range d.Panels() {
			for i, q := range p.Queries {
				checks = append(checks, Check{PanelKey(d, p, i), vals.Substitute(q.Expr)})
			}
		}
	}
	return checks
}

func itoa(n uint32) string {
	b, _ := json.Marshal(n)
	return string(b)
}
