package joins

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"jobscope/test/promtest"
)

// recordings are the record names of a rule file, in file order.
func recordings(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, r.Record)
			}
		}
	}
	return out
}

// noSeries names the recording rules that cannot record anything on the
// static golden pages, and why. One listed here that does record fails the
// test, so the list only shrinks.
var noSeries = map[string]string{
	"job_gpu:jobscope_gpu_activity_vs_job_median:ratio":                 "needs a multi-node job with agents on two of its nodes (job 1001's node2 has no page)",
	"job_node:jobscope_gpu_activity_vs_job_median:ratio":                "needs a multi-node job with agents on two of its nodes (job 1001's node2 has no page)",
	"job_node:jobscope_infiniband_job_received_bytes:rate5m":            "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job_node:jobscope_infiniband_job_transmitted_bytes:rate5m":         "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job_node:jobscope_infiniband_job_received_packets:rate5m":          "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job_node:jobscope_infiniband_job_transmitted_packets:rate5m":       "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job_node:jobscope_infiniband_job_bytes:rate5m":                     "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job:jobscope_infiniband_job_received_bytes:rate5m":                 "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job:jobscope_infiniband_job_transmitted_bytes:rate5m":              "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job:jobscope_infiniband_job_received_packets:rate5m":               "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job:jobscope_infiniband_job_transmitted_packets:rate5m":            "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job:jobscope_infiniband_job_bytes:median_rate5m":                   "needs per-job InfiniBand counters: no golden page has jobscope_infiniband_job_*",
	"job_node:jobscope_infiniband_job_bytes_vs_job_median:ratio_rate5m": "needs per-job InfiniBand counters on two nodes of one job",
}

const gib = float64(1 << 30)

// ruleValues are values worked out by hand from the golden pages. Job 1001
// (alice, physics, gpu) holds GPUs 0 and 1 of node1 (utilisation 0.2 and
// 0.3, 1 and 2 GiB used of 80, 200 and 250 W, no SM activity under NVML
// before GPM); jobs 4 (alice, 2 GPUs) and 5 (bob, 1 GPU) of the Slurm
// 22.05 page hold GPUs 0, 1 and 3 of gpu-b07 (utilisation and SM activity
// 0, 0.1 and 0.3, tensor activity 0, 0.05 and 0.15). Pods train-a and
// train-b time-slice one GPU; infer-mig-0 holds a MIG instance the DCGM
// exporter only reports graphics engine activity for (0.348). Jobs of the
// MIG, MPS and Slinky scenarios have no jobscope slurm page: see below.
var ruleValues = []struct {
	expr string
	want float64
}{
	{`count(job:jobscope_slurm_job_info:max{cluster="c1"})`, 1},
	{`count(job:jobscope_slurm_job_info:max{cluster="c2"})`, 6},
	// the exporters' jobs polls succeed: the held identity is the current one
	{`count(job:jobscope_slurm_job_info:last_over_time10m{cluster="c2"})`, 6},
	{`count(instance:jobscope_node_info:max)`, 7},
	{`count(job_gpu:jobscope_slurm_job_gpu_allocated:max{cluster="c1",job_id="1001",node="node1",uuid=~"GPU-a000050[01]-.*"})`, 2},
	{`job_node:jobscope_gpus_held:count{cluster="c1",job_id="1001",node="node1",user="alice",account="physics",partition="gpu"}`, 2},
	{`job:jobscope_gpus_held:count{cluster="c1",job_id="1001"}`, 2},
	{`job:jobscope_gpus_busy:sum{cluster="c1",job_id="1001"}`, 2},
	{`job:jobscope_gpu_utilization_ratio:avg{cluster="c1",job_id="1001"}`, 0.25},
	{`job_node:jobscope_gpu_activity_ratio:avg{cluster="c1",job_id="1001",node="node1"}`, 0.25},
	{`job:jobscope_gpu_memory_used_bytes:sum{cluster="c1",job_id="1001"}`, 3 * gib},
	{`job:jobscope_gpu_memory_total_bytes:sum{cluster="c1",job_id="1001"}`, 160 * gib},
	{`job:jobscope_gpu_power_watts:sum{cluster="c1",job_id="1001"}`, 450},
	{`job:jobscope_job_gpu_energy_joules_total:sum{cluster="c1",job_id="1001"}`, 0},
	{`job_node:jobscope_gpus_held:count{cluster="c2",job_id="4",node="gpu-b07",user="alice"}`, 2},
	{`job:jobscope_gpus_busy:sum{cluster="c2",job_id="4"}`, 1},
	{`job:jobscope_gpu_sm_active_ratio:avg{cluster="c2",job_id="4"}`, 0.05},
	{`job:jobscope_gpu_tensor_active_ratio:avg{cluster="c2",job_id="4"}`, 0.025},
	{`job_node:jobscope_gpu_sm_active_ratio:avg{cluster="c2",job_id="5",node="gpu-b07",user="bob"}`, 0.3},
	{`job_node:jobscope_job_gpu_energy_joules_total:sum{cluster="c2",job_id="4",node="gpu-b07",user="alice"}`, 180000},
	{`job:jobscope_gpu_activity_ratio:median{cluster="c2",job_id="4"}`, 0.05},
	{`user:jobscope_gpus_held:count{cluster="c1",user="alice"}`, 2},
	{`user:jobscope_gpus_held:count{cluster="c2",user="alice"}`, 2},
	{`user:jobscope_gpus_busy:sum{cluster="c2",user="alice"}`, 1},
	{`user:jobscope_gpus_idle:ratio{cluster="c2",user="alice"}`, 0.5},
	{`user:jobscope_gpus_idle:sum{cluster="c2",user="alice"}`, 1},
	// serve's only GPU in c2 is an nvml MIG instance with no activity series:
	// held, but neither busy nor idle, so serve has no idle share there.
	{`k8s_namespace:jobscope_gpus_held:count{cluster="c2",k8s_namespace="serve"}`, 1},
	{`absent(k8s_namespace:jobscope_gpus_idle:ratio{cluster="c2",k8s_namespace="serve"})`, 1},
	{`account:jobscope_gpus_held:count{cluster="c2",account="chemistry"}`, 1},
	{`partition:jobscope_gpus_held:count{cluster="c2",partition="gpu"}`, 3},
	{`k8s_pod:jobscope_gpus_held:count{cluster="c1",k8s_namespace="ml",k8s_pod="train-a"}`, 1},
	{`k8s_pod:jobscope_gpus_held:count{cluster="c1",k8s_namespace="ml",k8s_pod="train-b"}`, 1},
	// GPU-…100 shared by train-a and train-b counts once, and the MIG instance.
	{`k8s_namespace:jobscope_gpus_held:count{cluster="c1",k8s_namespace="ml"}`, 2},
	{`k8s_namespace:jobscope_gpus_busy:sum{cluster="c1",k8s_namespace="ml"}`, 2},
	{`k8s_pod:jobscope_gpus_busy:sum{cluster="c1",k8s_namespace="ml",k8s_pod="infer-mig-0"}`, 1},
	{`gpu:jobscope_gpu_activity_ratio:max{cluster="c1",uuid="MIG-a5f03c77-4d19-5b2e-8c6a-2f94e1b3d750"}`, 0.348},
	// Holders whose job no jobscope slurm page lists keep their series with
	// empty user, account and partition (the holder join is a left join). c1:
	// jobs 3001 and 3002 (nvml MIG instances, no activity: neither busy nor
	// idle), 4001 (DCGM MIG, 0.612), 2001 and 2002 (one MPS GPU, 0.2, counted
	// once), 77 (Slinky, 0.4 and 0.5): 6 GPUs held, 4 busy, 0 idle, so the
	// idle share is 0 (1 - busy/held would say 1/3). c2: jobs 123 (0.2) and
	// 77 (0.5).
	{`job:jobscope_gpus_held:count{cluster="c1",job_id="3001",user=""}`, 1},
	{`absent(job:jobscope_gpus_busy:sum{cluster="c1",job_id="3001"})`, 1},
	{`job:jobscope_gpus_held:count{cluster="c1",job_id="77",user=""}`, 2},
	{`user:jobscope_gpus_held:count{cluster="c1",user=""}`, 6},
	{`user:jobscope_gpus_busy:sum{cluster="c1",user=""}`, 4},
	{`user:jobscope_gpus_idle:sum{cluster="c1",user=""}`, 0},
	{`user:jobscope_gpus_idle:ratio{cluster="c1",user=""}`, 0},
	{`account:jobscope_gpus_held:count{cluster="c2",account=""}`, 2},
	{`partition:jobscope_gpus_busy:sum{cluster="c2",partition=""}`, 2},
	{`gpu:jobscope_gpu_fault:bool{cluster="c2",uuid="GPU-a0000007-1111-2222-3333-000000000007"}`, 1},
	{`sum(gpu:jobscope_gpu_fault:bool)`, 1},
}

// Every recording rule of alerts/rules.yml records at least one series on
// the golden pages (or noSeries says why it cannot), and the values above
// are right. A second replica of jobscope slurm's page in cluster c1 checks
// that the rules count its identical series once.
func TestRecordingRulesOnGoldenPages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and waits for the daily rules' first minute")
	}
	rules := filepath.Join(root, "alerts", "rules.yml")
	records := recordings(t, rules)
	pages := promtest.GoldenPages(t, root)
	for _, p := range pages {
		if p.Job == "slurm" {
			pages = append(pages, promtest.Page{Job: "slurm-replica", Cluster: p.Cluster, Body: p.Body})
			break
		}
	}
	srv := promtest.StartGolden(t, pages, rules)

	checks := make(map[string][]string, len(records))
	for _, r := range records {
		checks[r] = []string{r}
	}
	srv.AwaitData(t, checks, noSeries, 100*time.Second)

	ctx := context.Background()
	for _, c := range ruleValues {
		vec, err := srv.Query(ctx, c.expr)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(vec) != 1:
			t.Errorf("%s: want one series = %g, got %v", c.expr, c.want, vec)
		case math.Abs(float64(vec[0].Value)-c.want) > 1e-9*math.Max(1, math.Abs(c.want)):
			t.Errorf("%s = %g, want %g", c.expr, float64(vec[0].Value), c.want)
		}
	}
}
