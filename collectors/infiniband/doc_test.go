package infiniband

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestMetricsDoc keeps docs/metrics-infiniband.md equal to the families the
// collector emits over every fixture tree plus a generated node with jobs
// and link expectations.
func TestMetricsDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics-infiniband.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(jobscope_infiniband_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}

	emitted := map[string]bool{}
	add := func(c *Collector, scrapes int) {
		reg, a := registry(t, c)
		for i := 0; i < scrapes; i++ {
			for name := range gather(t, reg, a) {
				emitted[name] = true
			}
		}
	}
	trees, err := os.ReadDir("testdata/trees")
	if err != nil {
		t.Fatal(err)
	}
	for _, tree := range trees {
		add(newCollector(t, Options{SysFS: filepath.Join("testdata/trees", tree.Name()), Config: goldenConfig[tree.Name()]}), 1)
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
		Config: Config{ExpectedRate: []string{".*=400"}, ExpectedWidth: []string{".*=4"}},
		Jobs:   func() []Job { return []Job{{ID: "7", GPUPCIBusIDs: []string{gpuBusID(0)}}} },
		Now:    clock.now,
	}), 2)

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
		t.Errorf("emitted but not in docs/metrics-infiniband.md: %s", strings.Join(missing, " "))
	}
	if len(extra) > 0 {
		t.Errorf("documented but never emitted: %s", strings.Join(extra, " "))
	}
}
