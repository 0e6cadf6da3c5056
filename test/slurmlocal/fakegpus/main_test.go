package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"jobscope/gpu/simulated"
)

// TestPrologResolvesSimulatedUUIDs runs the shipped prolog on the tree this
// command writes: GRES indices 1 and 3 must come out as the UUIDs of the
// simulated GPUs 1 and 3 of that node, the ones its agent reports.
func TestPrologResolvesSimulatedUUIDs(t *testing.T) {
	dir := t.TempDir()
	if err := writeTree(filepath.Join(dir, "node2", "nvidia-gpus"), "node2", 4); err != nil {
		t.Fatal(err)
	}
	jobs := filepath.Join(dir, "node2", "slurm-jobs")
	cmd := exec.Command("bash", "../../../deploy/slurm/jobscope-prolog.sh")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SLURM_JOB_ID=7", "SLURM_JOB_GPUS=1,3",
		"JOBSCOPE_PROLOG_DIR=" + jobs, "JOBSCOPE_NVIDIA_PROC=" + filepath.Join(dir, "node2", "nvidia-gpus")}
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("prolog: %v %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(jobs, "7"))
	if err != nil {
		t.Fatal(err)
	}
	want := "gpu_uuids=" + simulated.UUID("node2", 1) + "," + simulated.UUID("node2", 3) + "\n"
	if !strings.Contains(string(b), want) {
		t.Errorf("prolog file lacks %q:\n%s", want, b)
	}
	// Rewriting with another seed leaves no GPU of the old one.
	if err := writeTree(filepath.Join(dir, "node2", "nvidia-gpus"), "node1", 2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "node2", "nvidia-gpus"))
	if len(entries) != 2 {
		t.Errorf("%d GPUs after rewriting with 2", len(entries))
	}
}
