package infiniband

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"jobscope/test/golden"
)

// TestMetricsDoc keeps docs/metrics-infiniband.md equal to the families the
// collector emits over every fixture tree plus a generated node with jobs
// and link expectations.
func TestMetricsDoc(t *testing.T) {
	emitted := map[string]bool{}
	add := func(c *Collector, scrapes int) {
		reg, a := registry(t, c)
		for i := 0; i < scrapes; i++ {
			for name := range gather(t, reg, a) {
				emitted[name] = true
			}
		}
	}
	trees, err := os.ReadDir(treesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tree := range trees {
		for _, set := range []string{CountersDefault, CountersAll} {
			cfg := goldenConfig[tree.Name()]
			cfg.Counters = set
			add(newCollector(t, Options{SysFS: filepath.Join(treesDir, tree.Name()), Config: cfg}), 1)
		}
	}
	g := writeGenTree(t, t.TempDir(), 2)
	// A counters_ext file without a named family of its own.
	if err := os.MkdirAll(filepath.Join(g.portDir(1), "counters_ext"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.setFile(t, 1, "counters_ext/port_xmit_wait_64", "12\n")
	clock := &fixedClock{t: time.Unix(1e9, 0)}
	add(newCollector(t, Options{
		SysFS:  g.root,
		Config: Config{Counters: CountersAll, ExpectedRate: []string{".*=400"}, ExpectedWidth: []string{".*=4"}},
		Jobs:   func() []Job { return []Job{{ID: "7", GPUPCIBusIDs: []string{gpuBusID(0)}}} },
		Now:    clock.now,
	}), 2)

	golden.CheckDocNames(t, "../../docs/metrics-infiniband.md", "jobscope_infiniband_", emitted)
}
