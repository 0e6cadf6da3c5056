package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"jobscope/test/testkit"
)

// TestPrometheusConfig: deploy/prometheus/prometheus.yml passes `promtool check config` with
// the shipped rules in its rules/ directory (promtool loads every rule file it names, and
// checks the file_sd files), and keeps the names policy: every job honours jobscope's labels
// and gives its targets a `cluster` label.
func TestPrometheusConfig(t *testing.T) {
	promtool := testkit.Tool(t, "promtool", "make deps")
	dir := filepath.Join(t.TempDir(), "prometheus")
	copyTree(t, filepath.Join(repoRoot, "deploy/prometheus"), dir)
	rules := sourceFiles(t, "alerts/*.yml")
	// A rule file of alerts/' shape, so rule loading is exercised before alerts/ exists.
	test, err := os.ReadFile("testdata/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules["zz_test.yml"] = test
	for name, b := range rules {
		if err := os.WriteFile(filepath.Join(dir, "rules", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, promtool, "check", "config", filepath.Join(dir, "prometheus.yml"))
	t.Log(strings.TrimSpace(out))
	for name := range rules {
		if !strings.Contains(out, name) {
			t.Errorf("promtool did not load rules/%s:\n%s", name, out)
		}
	}

	// A broken rule file fails the check, so the check above can fail.
	if err := os.WriteFile(filepath.Join(dir, "rules", "broken.yml"), []byte("groups:\n  - name: x\n    rules:\n      - record: a\n        expr: sum(\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runErr(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")); err == nil {
		t.Errorf("promtool accepted a broken rule file:\n%s", out)
	}

	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			HonorLabels   bool   `json:"honor_labels"`
			StaticConfigs []struct {
				Labels map[string]string `json:"labels"`
			} `json:"static_configs"`
			FileSDConfigs []struct {
				Files []string `json:"files"`
			} `json:"file_sd_configs"`
		} `json:"scrape_configs"`
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = true
		if !sc.HonorLabels {
			t.Errorf("job %s: honor_labels is not true (docs/names.md)", sc.JobName)
		}
		for _, st := range sc.StaticConfigs {
			if _, ok := st.Labels["cluster"]; !ok {
				t.Errorf("job %s: static targets without a cluster label", sc.JobName)
			}
		}
		for _, fsd := range sc.FileSDConfigs {
			for _, pattern := range fsd.Files {
				matches, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/prometheus", pattern))
				for _, m := range matches {
					var groups []struct {
						Labels map[string]string `json:"labels"`
					}
					b, _ := os.ReadFile(m)
					if err := yaml.Unmarshal(b, &groups); err != nil {
						t.Fatalf("%s: %v", m, err)
					}
					for _, g := range groups {
						if _, ok := g.Labels["cluster"]; !ok {
							t.Errorf("%s: targets without a cluster label", m)
						}
					}
				}
			}
		}
	}
	if !jobs["jobscope-slurm"] || !jobs["jobscope-node"] {
		t.Errorf("jobs %v: want jobscope-slurm and jobscope-node", jobs)
	}
}
