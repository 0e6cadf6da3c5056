package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobscope/gpu/simulated"
	"jobscope/test/promtest"
	"jobscope/test/scaleout"
	"jobscope/test/testkit"
)

// The whole chain of `make demo` on the local cluster: the jobscope prolog (installed by
// test/slurmlocal/up.sh) records each job's GPUs per node, one node agent per Slurm node
// attributes its simulated GPUs (same UUIDs as the node's fake /proc/driver/nvidia tree the
// prolog resolved), jobscope slurm exports Slurm's allocation, and a real Prometheus scrapes
// all five with cluster="local" and evaluates the shipped rules where the tree has them.

var (
	gpuNodes = []string{"node1", "node2"}
	allNodes = []string{"node1", "node2", "node3", "node4"}
)

// startAgent runs `jobscope node` for one Slurm node of the local cluster, as demo.sh does.
func startAgent(t *testing.T, base, node string) string {
	t.Helper()
	dir := filepath.Join(base, "jobscope", node)
	if _, err := os.Stat(filepath.Join(dir, "slurm-jobs")); err != nil {
		t.Fatalf("no prolog directory for %s (a cluster from an older up.sh? make slurm-down slurm-up slurm-workload): %v", node, err)
	}
	addr := testkit.FreeAddr(t)
	args := []string{"node", "--web.listen-address=" + addr, "--log.level=info",
		"--slurm.prolog-dir=" + filepath.Join(dir, "slurm-jobs"), "--path.cgroupfs=" + filepath.Join(dir, "cgroup"),
		"--no-collector.infiniband", "--kubelet.pod-resources-socket="}
	if hasFlag(t, "node", "--node.name") {
		args = append(args, "--node.name="+node)
	}
	if isGPUNode(node) {
		args = append(args, "--gpu.backend=simulated", "--gpu.simulated-count=4", "--gpu.simulated-seed="+node)
	} else {
		args = append(args, "--gpu.backend=none", "--no-collector.gpu", "--no-collector.gpu-backend")
	}
	logs := &testkit.SyncBuffer{}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("jobscope node (%s) log:\n%s", node, tail(logs.String(), 20))
		}
	})
	return addr
}

func isGPUNode(n string) bool {
	for _, g := range gpuNodes {
		if g == n {
			return true
		}
	}
	return false
}

// hasFlag says whether the built binary's COMMAND has flag: the test runs whether or not
// another branch's flag (--node.name) has landed.
func hasFlag(t *testing.T, command, flag string) bool {
	t.Helper()
	out, _ := exec.Command(binary, command, "--help").CombinedOutput()
	return strings.Contains(string(out), flag)
}

// gpuHolder is one GPU a running job holds, as Slurm says.
type gpuHolder struct{ job, node, uuid string }

func TestChainThroughPrometheus(t *testing.T) {
	c := needCluster(t)
	start := time.Now()
	tr, err := readTruth()
	if err != nil {
		t.Fatal(err)
	}
	// Slurm's allocation, by GRES index, turned into the UUIDs the node's simulated GPUs have.
	want := map[gpuHolder]bool{}
	jobs := map[string]int{} // running job -> GPUs
	for _, j := range tr.Jobs {
		if j.State != "running" {
			continue
		}
		for _, a := range j.Alloc {
			for _, idx := range a.GPUIdx {
				want[gpuHolder{j.ID, a.Node, simulated.UUID(a.Node, idx)}] = true
				jobs[j.ID]++
			}
		}
	}
	// The workload holds 5 of the 8 GPUs in 3 jobs (one on two nodes): a comparison on an
	// empty cluster must not pass.
	if len(want) < 5 || len(jobs) < 3 {
		t.Fatalf("workload missing: running jobs hold %d GPUs in %d jobs (want >= 5 in >= 3); make slurm-workload", len(want), len(jobs))
	}

	slurmAddr := startExporter(t, "--slurm.source=rest", "--slurm.rest-url="+c.restURL,
		"--slurm.token-file="+c.tokenFile, "--slurm.user="+c.user, pollInterval).addr
	nodeOf := map[string]string{} // agent address -> Slurm node
	var agentURLs []string
	for _, n := range allNodes {
		addr := startAgent(t, c.base, n)
		nodeOf[addr] = n
		agentURLs = append(agentURLs, "http://"+addr+"/metrics")
	}
	rules, _ := filepath.Glob("../../alerts/*.yml")
	local := map[string]string{"cluster": "local"}
	cfg := promtest.Config{
		Targets: []promtest.Target{
			{Job: "jobscope-slurm", URLs: []string{"http://" + slurmAddr + "/metrics"}, Labels: local},
			{Job: "jobscope-node", URLs: agentURLs, Labels: local},
		},
		RuleFiles: rules,
	}
	// The scale-out path on the same chain: Prometheus also remote-writes what it scrapes
	// into VictoriaMetrics, where vmalert evaluates the same rules. Without the tools
	// (make tools) the rest runs; under CI their absence fails the test.
	var vm *scaleout.Path
	if missing := scaleout.Missing(); missing == "" || os.Getenv("CI") != "" {
		vm = scaleout.StartBackend(t, rules)
		cfg.RemoteWrite = []promtest.RemoteWrite{vm.RemoteWrite()}
	} else {
		t.Logf("VictoriaMetrics part not run: %s", missing)
	}
	srv := promtest.Start(t, cfg)
	srv.WaitScraped(t, 60*time.Second)
	t.Logf("Prometheus scraping 5 targets %.1fs after the test started; rule files %v", time.Since(start).Seconds(), rules)

	t.Run("job-level series", func(t *testing.T) {
		// 1. Each running job's GPUs have its tenant series on the right node's agent, and no
		// other GPU has a Slurm tenant (a finished job's file was removed by the epilog).
		// 2. The documented join gives each of them its GPU's utilisation.
		join := `max by (cluster, uuid) (jobscope_gpu_utilization_ratio) * on (cluster, uuid) group_right jobscope_gpu_tenant_info{tenant="slurm",cluster="local"}`
		eventually(t, 45*time.Second, "tenant series = Slurm's GPU allocation", func(ctx context.Context) error {
			vec, err := srv.Query(ctx, join)
			if err != nil {
				return err
			}
			got := map[gpuHolder]bool{}
			for _, s := range vec {
				h := gpuHolder{string(s.Metric["job_id"]), nodeOf[string(s.Metric["instance"])], string(s.Metric["uuid"])}
				if n := s.Metric["node"]; n != "" && string(n) != h.node {
					return fmt.Errorf("%v: node label %q on the agent of %s", s.Metric, n, h.node)
				}
				if v := float64(s.Value); v < 0 || v > 1 || math.IsNaN(v) {
					return fmt.Errorf("%v: utilisation %v", s.Metric, v)
				}
				got[h] = true
			}
			return diffHolders(got, want)
		})

		// 3. Slurm's (node, gres_index) meets the agent's: the agent names its Slurm node
		// (jobscope_node_info) and labels each GPU with the GRES index the prolog file gave it.
		ctx := context.Background()
		if vec, err := srv.Query(ctx, `jobscope_node_info{cluster="local"}`); err != nil || len(vec) == 0 {
			t.Errorf("no jobscope_node_info (err %v): the agents name no Slurm node, so the gres_index join cannot be checked", err)
		} else {
			byIndex := `max by (cluster, job_id, node, gres_index) (jobscope_slurm_job_gpu_allocated{cluster="local"})
			  * on (cluster, node, gres_index) group_left (uuid)
			  max by (cluster, node, gres_index, uuid) (jobscope_gpu_info{cluster="local",gres_index!=""})`
			eventually(t, 30*time.Second, "jobscope_slurm_job_gpu_allocated meets jobscope_gpu_info on (node, gres_index)", func(ctx context.Context) error {
				vec, err := srv.Query(ctx, byIndex)
				if err != nil {
					return err
				}
				got := map[gpuHolder]bool{}
				for _, s := range vec {
					got[gpuHolder{string(s.Metric["job_id"]), string(s.Metric["node"]), string(s.Metric["uuid"])}] = true
				}
				return diffHolders(got, want)
			})
		}

		// 4. The shipped recording rules: per running GPU job, the GPUs
		// held are Slurm's count and the mean utilisation is the mean of its simulated GPUs'.
		if !definesRecord(t, rules, "job:jobscope_gpus_held:count") || !definesRecord(t, rules, "job:jobscope_gpu_utilization_ratio:avg") {
			t.Errorf("alerts/*.yml does not record job:jobscope_gpus_held:count and job:jobscope_gpu_utilization_ratio:avg: job-level series not checked")
		} else {
			eventually(t, 30*time.Second, "job-level recording rules", func(ctx context.Context) error {
				held, err := srv.Query(ctx, `job:jobscope_gpus_held:count{cluster="local"}`)
				if err != nil {
					return err
				}
				gotHeld := map[string]int{}
				for _, s := range held {
					gotHeld[string(s.Metric["job_id"])] = int(s.Value)
				}
				if fmt.Sprint(gotHeld) != fmt.Sprint(jobs) {
					return fmt.Errorf("job:jobscope_gpus_held:count %v, Slurm %v", gotHeld, jobs)
				}
				util, err := srv.Query(ctx, `job:jobscope_gpu_utilization_ratio:avg{cluster="local"}`)
				if err != nil {
					return err
				}
				// Straight from the per-GPU series, evaluated now; the rule ran up to one
				// interval earlier and a simulated GPU moves less than 0.01 per second.
				direct, err := srv.Query(ctx, `avg by (job_id) (`+join+`)`)
				if err != nil {
					return err
				}
				mean := map[string]float64{}
				for _, s := range direct {
					mean[string(s.Metric["job_id"])] = float64(s.Value)
				}
				if len(util) != len(jobs) {
					return fmt.Errorf("job:jobscope_gpu_utilization_ratio:avg has %d jobs, Slurm runs %d with GPUs", len(util), len(jobs))
				}
				for _, s := range util {
					id := string(s.Metric["job_id"])
					if m, ok := mean[id]; !ok || math.Abs(float64(s.Value)-m) > 0.05 {
						return fmt.Errorf("job %s: recorded utilisation %v, its GPUs' mean %v (present %v)", id, s.Value, m, ok)
					}
					if s.Metric["user"] == "" || s.Metric["account"] == "" {
						return fmt.Errorf("job %s: recorded series without user/account: %v", id, s.Metric)
					}
				}
				return nil
			})
		}
	})

	// 5. The same job-level series read back from VictoriaMetrics, where vmalert computed
	// them from what Prometheus remote-wrote.
	if vm != nil {
		vm.Prom = srv
		t.Run("VictoriaMetrics", func(t *testing.T) { checkVictoria(t, vm, rules, jobs) })
	}

	// 6. `jobscope report` on running jobs: a short job of its own (started now, so it
	// ends while the dashboards are checked) and the workload's other GPU jobs.
	short := startShortJob(t, c, tr)
	var gpuJobs []string // most GPUs first: mn-root spans both nodes
	var running []*jobTruth
	for _, j := range tr.Jobs {
		if jobs[j.ID] > 0 && j.Name != "infer-bob" {
			running = append(running, j)
		}
	}
	sort.Slice(running, func(a, b int) bool {
		ja, jb := running[a], running[b]
		if len(ja.Alloc) != len(jb.Alloc) {
			return len(ja.Alloc) > len(jb.Alloc)
		}
		return jobs[ja.ID] > jobs[jb.ID]
	})
	for _, j := range running {
		gpuJobs = append(gpuJobs, j.ID)
	}
	t.Run("report on running jobs", func(t *testing.T) {
		// the short job's series from both commands first: it ends in seconds
		srv.WaitFor(t, fmt.Sprintf(`jobscope_slurm_job_node_gpus{job_id=%q} and on (cluster, job_id) jobscope_gpu_tenant_info{job_id=%q}`, short.ID, short.ID), 20*time.Second)
		for _, j := range append([]*jobTruth{short}, running...) {
			checkRunningReport(t, srv, j)
		}
	})

	// 7. Every dashboard query returns data on this cluster, or says why it cannot.
	t.Run("dashboards", func(t *testing.T) { checkDashboards(t, srv, gpuJobs) })

	// 8. The short job has ended: its report finds its life and says so.
	t.Run("report on an ended job", func(t *testing.T) { checkEndedReport(t, srv, short) })
	t.Logf("chain checked in %.1fs", time.Since(start).Seconds())
}

func diffHolders(got, want map[gpuHolder]bool) error {
	var missing, extra []string
	for h := range want {
		if !got[h] {
			missing = append(missing, fmt.Sprintf("%+v", h))
		}
	}
	for h := range got {
		if !want[h] {
			extra = append(extra, fmt.Sprintf("%+v", h))
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Errorf("missing %v, extra %v", missing, extra)
}

// definesRecord says whether one of the rule files records name.
func definesRecord(t *testing.T, files []string, name string) bool {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "record: "+name+"\n") {
			return true
		}
	}
	return false
}

// eventually repeats check against Prometheus until it passes or timeout runs out.
func eventually(t *testing.T, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
