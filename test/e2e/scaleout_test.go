package e2e

import (
	"net/http"
	"os/exec"
	"testing"
	"time"

	"jobscope/test/promtest"
	"jobscope/test/scaleout"
	"jobscope/test/testkit"
)

// The scale-out path on the live cluster: jobscope slurm polling the real
// slurmrestd, and a node agent (simulated GPUs, named as the cluster's GPU
// node node1), are scraped by Prometheus, which remote-writes them into
// VictoriaMetrics; vmalert evaluates the shipped rules there, and every
// recorded series in VictoriaMetrics has the labels of Prometheus's own
// evaluation of the same rules. test/scaleout runs the same on the golden
// pages without a cluster.
func TestScaleOutVictoriaMetrics(t *testing.T) {
	c := needCluster(t)
	e := startExporter(t, "--slurm.source=rest", "--slurm.rest-url="+c.restURL,
		"--slurm.token-file="+c.tokenFile, "--slurm.user="+c.user, pollInterval)
	e.eventually(60*time.Second, "jobscope_slurm_up 1", upIs(1))
	nodeAddr := startNodeAgent(t)

	rules := scaleout.RuleFiles(t)
	names := scaleout.RecordedNames(t, rules)
	labels := map[string]string{"cluster": "demo"}
	p := scaleout.Start(t, []promtest.Target{
		{Job: "jobscope-slurm", URLs: []string{"http://" + e.addr + "/metrics"}, Labels: labels},
		{Job: "jobscope-node", URLs: []string{"http://" + nodeAddr + "/metrics"}, Labels: labels},
	}, rules)
	// The workload keeps jobs running (test/slurmlocal/workload.sh): their
	// identity must be there on both sides.
	required := []string{"job:jobscope_slurm_job_info:max", "gpu:jobscope_gpu_activity_ratio:max"}
	for _, r := range required {
		p.Prom.WaitFor(t, r, 60*time.Second)
	}
	p.CheckRuleHealth(t, len(names))
	// Live values move between the two engines' evaluations (simulated GPUs
	// change every scrape): label sets are compared, values on the golden
	// pages in test/scaleout.
	p.CompareRecorded(t, names, required, false, 90*time.Second)
}

// startNodeAgent runs `jobscope node` with simulated GPUs on a free
// loopback port until the test ends, and returns its address once its
// page answers.
func startNodeAgent(t *testing.T) string {
	t.Helper()
	addr := testkit.FreeAddr(t)
	logs := &testkit.SyncBuffer{}
	cmd := exec.Command(binary, "node", "--web.listen-address="+addr, "--gpu.backend=simulated",
		"--gpu.simulated-count=4", "--node.name=node1", "--kubelet.pod-resources-socket=",
		"--no-collector.infiniband", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("jobscope node log:\n%s", tail(logs.String(), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case <-done:
			t.Fatalf("jobscope node exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobscope node not serving after 30s: %s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
