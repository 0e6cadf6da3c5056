package infiniband

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/test/golden"
)

// adapter runs Update as a prometheus.Collector, as the framework does,
// without the framework's duration series (they vary).
type adapter struct {
	c   *Collector
	err error
}

func (a *adapter) Describe(chan<- *prometheus.Desc) {}
func (a *adapter) Collect(ch chan<- prometheus.Metric) {
	a.err = a.c.Update(context.Background(), ch)
}

func registry(t testing.TB, c *Collector) (*prometheus.Registry, *adapter) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	a := &adapter{c: c}
	if err := reg.Register(a); err != nil {
		t.Fatal(err)
	}
	return reg, a
}

// scrape returns one scrape's exposition text.
func scrape(t testing.TB, reg *prometheus.Registry, a *adapter) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if a.err != nil {
		t.Fatalf("update: %v", a.err)
	}
	return string(golden.Text(t, mfs))
}

func newCollector(t testing.TB, o Options) *Collector {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// treesDir holds the recorded sysfs trees, one --path.sysfs root each; they
// live with the reader that parses them.
const treesDir = "../../infiniband/testdata/trees"

// goldenConfig gives the trees that have a known expected link their
// expectation, so the golden pages show degraded and healthy links.
var goldenConfig = map[string]Config{
	"gcm_ib_intf_bad_rate": {ExpectedRate: []string{"mlx5_.*=200"}, ExpectedWidth: []string{"mlx5_.*=4"}},
	"gcm_good":             {ExpectedRate: []string{"mlx5_.*=200"}, ExpectedWidth: []string{"mlx5_.*=4"}},
	"gpud_cx7":             {ExpectedRate: []string{"mlx5_.*=400"}},
}

// TestGolden checks the page of every tree with the default counter set
// (testdata/golden/TREE.prom) and with --infiniband.counters=all
// (testdata/golden/all/TREE.prom), which covers every counter file.
func TestGolden(t *testing.T) {
	trees, err := os.ReadDir(treesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tree := range trees {
		for _, set := range []string{CountersDefault, CountersAll} {
			name, file := tree.Name(), filepath.Join("testdata/golden", tree.Name()+".prom")
			if set == CountersAll {
				name, file = tree.Name()+"/all", filepath.Join("testdata/golden/all", tree.Name()+".prom")
			}
			t.Run(name, func(t *testing.T) {
				cfg := goldenConfig[tree.Name()]
				cfg.Counters = set
				checkGolden(t, Options{SysFS: filepath.Join(treesDir, tree.Name()), Config: cfg}, file)
			})
		}
	}
}

func checkGolden(t *testing.T, o Options, file string) {
	t.Helper()
	c := newCollector(t, o)
	reg, a := registry(t, c)
	got := scrape(t, reg, a)
	golden.Check(t, file, []byte(got))
	golden.LintGatherer(t, reg)
	// A second scrape of an unchanged tree is the same page: state kept
	// between scrapes must not change values by itself. (read errors
	// excepted: they are counted again on every scrape.)
	if again := scrape(t, reg, a); withoutErrors(again) != withoutErrors(got) {
		t.Errorf("second scrape differs:\n%s", golden.Diff(got, again))
	}
}

func withoutErrors(page string) string {
	var out strings.Builder
	for _, l := range strings.Split(page, "\n") {
		if !strings.HasPrefix(l, "jobscope_infiniband_read_errors_total") {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

// fixedClock is a settable clock for the tests.
type fixedClock struct{ t time.Time }

func (f *fixedClock) now() time.Time { return f.t }
