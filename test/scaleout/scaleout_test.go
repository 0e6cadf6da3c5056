package scaleout

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"jobscope/test/promtest"
)

// Every shipped rule file is one vmalert accepts: MetricsQL is not PromQL
// (a PromQL-only construct, or an annotation template vmalert's template
// engine lacks, fails here while promtool passes it).
func TestVMAlertAcceptsRules(t *testing.T) {
	vmalert := tool(t, "vmalert")
	for _, f := range RuleFiles(t) {
		out, err := exec.Command(vmalert, "-dryRun", "-rule="+f, "-loggerLevel=ERROR").CombinedOutput()
		if err != nil {
			t.Errorf("vmalert -dryRun -rule=%s: %v\n%s", f, err, out)
		}
	}
	// The check can fail: a file with a MetricsQL syntax error is refused.
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("groups:\n  - name: bad\n    rules:\n      - record: a:b:sum\n        expr: sum(rate(x[5m]) by\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(vmalert, "-dryRun", "-rule="+bad, "-loggerLevel=ERROR").CombinedOutput(); err == nil {
		t.Errorf("vmalert -dryRun accepted a broken expression:\n%s", out)
	}
}

// goldenTargets serves the node agent's scenario pages (each its own
// target, as each node is) and jobscope slurm's page, all with cluster="c1"
// as the rules' on (cluster, …) expect.
// goldenTargets are the golden pages the joins and dashboards tests use
// (test/promtest.GoldenPages), served for Prometheus to scrape.
func goldenTargets(t *testing.T) []promtest.Target {
	t.Helper()
	return promtest.ServeGolden(t, promtest.GoldenPages(t, repoRoot(t)))
}

// The scale-out path end to end: every series the shipped recording rules
// give in Prometheus is in VictoriaMetrics, computed there by vmalert from
// the remote-written samples, with the same labels and values.
func TestRemoteWriteVMAlert(t *testing.T) {
	rules := RuleFiles(t)
	names := RecordedNames(t, rules)
	if len(names) < 10 {
		t.Fatalf("found %d recording rules in %v", len(names), rules)
	}
	p := Start(t, goldenTargets(t), rules)
	// The job-level series the golden pages must give on both sides: a
	// comparison of two empty answers proves nothing.
	required := []string{
		"job:jobscope_slurm_job_info:max",
		"job:jobscope_slurm_job_info:last_over_time10m",
		"job:jobscope_gpus_held:count",
		"job:jobscope_gpu_utilization_ratio:avg",
		"job:jobscope_gpu_power_watts:sum",
		"job_node:jobscope_gpus_held:count",
		"job_gpu:jobscope_gpu_tenant_info:max",
	}
	p.Prom.WaitFor(t, required[len(required)-1], 30*time.Second)

	t.Run("rule health", func(t *testing.T) { p.CheckRuleHealth(t, len(names)) })

	p.CompareRecorded(t, names, required, true, 90*time.Second)
	t.Run("alerts", func(t *testing.T) { p.CompareAlerts(t) })
}
