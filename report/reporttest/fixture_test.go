package reporttest

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// targetLabels are the labels the scrape sets, not the commands.
var targetLabels = map[string]bool{"cluster": true, "job": true, "instance": true}

// notOnGoldens are the fixture's families no golden page has, and why.
var notOnGoldens = map[string]string{
	"jobscope_infiniband_job_received_bytes_total":      "no golden page has a job on a node with an HCA (labels as docs/metrics-infiniband.md lists them)",
	"jobscope_infiniband_job_transmitted_bytes_total":   "no golden page has a job on a node with an HCA",
	"jobscope_infiniband_job_received_packets_total":    "no golden page has a job on a node with an HCA",
	"jobscope_infiniband_job_transmitted_packets_total": "no golden page has a job on a node with an HCA",
}

// enumLabels are labels whose values the commands spell from a fixed set:
// the fixture may only use values a golden page has.
var enumLabels = map[string]bool{"state": true, "tenant": true, "source": true, "counter": true, "type": true, "backend": true}

type shapes struct {
	labelSets map[string]map[string]bool // family -> sorted label names joined
	values    map[string]map[string]bool // family/label -> values
}

func readShapes(t *testing.T, text []byte, openMetrics bool) shapes {
	t.Helper()
	s := shapes{labelSets: map[string]map[string]bool{}, values: map[string]map[string]bool{}}
	add := func(name string, labels map[string]string) {
		var names []string
		for k, v := range labels {
			if targetLabels[k] {
				continue
			}
			names = append(names, k)
			if enumLabels[k] {
				key := name + "/" + k
				if s.values[key] == nil {
					s.values[key] = map[string]bool{}
				}
				s.values[key][v] = true
			}
		}
		sort.Strings(names)
		if s.labelSets[name] == nil {
			s.labelSets[name] = map[string]bool{}
		}
		s.labelSets[name][strings.Join(names, ",")] = true
	}
	if openMetrics {
		// The fixture's lines are name{labels} value timestamp; the text
		// parser reads them without the timestamp in seconds.
		var plain bytes.Buffer
		for _, l := range strings.Split(string(text), "\n") {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			plain.WriteString(l[:strings.LastIndexByte(l, ' ')] + "\n")
		}
		text = plain.Bytes()
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for n, f := range fams {
		for _, m := range f.Metric {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			add(n, l)
		}
	}
	return s
}

// The fixture's series have the shapes the commands emit: per family, the
// label names of a golden page's series, and enum labels' values spelled
// as the commands spell them. A report test passing on a shape no command
// emits proves nothing.
func TestFixtureShapesMatchGoldenPages(t *testing.T) {
	root := filepath.Join("..", "..")
	var paths []string
	for _, g := range []string{
		filepath.Join(root, "collectors", "node", "testdata", "golden", "*.prom"),
		filepath.Join(root, "cmd", "jobscope", "testdata", "slurm-rest-*.prom"),
	} {
		m, err := filepath.Glob(g)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: %v", g, err)
		}
		paths = append(paths, m...)
	}
	golden := shapes{labelSets: map[string]map[string]bool{}, values: map[string]map[string]bool{}}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := readShapes(t, b, false)
		for n, sets := range s.labelSets {
			if golden.labelSets[n] == nil {
				golden.labelSets[n] = map[string]bool{}
			}
			for k := range sets {
				golden.labelSets[n][k] = true
			}
		}
		for k, vs := range s.values {
			if golden.values[k] == nil {
				golden.values[k] = map[string]bool{}
			}
			for v := range vs {
				golden.values[k][v] = true
			}
		}
	}
	fixture := readShapes(t, OpenMetrics(time.Unix(1_800_000_000, 0)), true)
	for n, sets := range fixture.labelSets {
		if reason, ok := notOnGoldens[n]; ok {
			t.Logf("%s: not checked: %s", n, reason)
			continue
		}
		want := golden.labelSets[n]
		if want == nil {
			t.Errorf("%s: no golden page has this family", n)
			continue
		}
		for set := range sets {
			if !want[set] {
				t.Errorf("%s{%s}: no golden series has these labels; the commands emit %v", n, set, keys(want))
			}
		}
	}
	for k, vs := range fixture.values {
		for v := range vs {
			if !golden.values[k][v] {
				t.Errorf("%s=%q: the commands spell it as one of %v", k, v, keys(golden.values[k]))
			}
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
