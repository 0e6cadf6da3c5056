package nodelocal

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// runScript runs a deploy/slurm script with env and returns its stderr.
func runScript(t *testing.T, name string, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command("bash", filepath.Join("../../deploy/slurm", name))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// TestPrologEpilogScripts runs the shipped scripts and reads their files
// with the agent's parser.
func TestPrologEpilogScripts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jobs")
	nv := t.TempDir()
	// The driver's /proc/driver/nvidia/gpus/<bus>/information, as on a node.
	for minor, uuid := range map[string]string{"0": "GPU-aaaa", "1": "GPU-bbbb", "2": "GPU-cccc"} {
		d := filepath.Join(nv, "0000:1"+minor+":00.0")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		info := "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 10\nGPU UUID: \t " + uuid + "\nDevice Minor: \t " + minor + "\n"
		if err := os.WriteFile(filepath.Join(d, "information"), []byte(info), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"JOBSCOPE_PROLOG_DIR=" + dir, "JOBSCOPE_NVIDIA_PROC=" + nv, "SLURM_JOB_UID=1000", "SLURMD_NODENAME=gpu-a01"}
	before := time.Now().Add(-time.Second)

	n := "gpu-a01"
	tests := []struct {
		name string
		env  []string
		want PrologJob
		// pairs is the GRES index of each UUID the agent learns from the file.
		pairs map[string]int
	}{
		{"indices translated by minor", []string{"SLURM_JOB_ID=41", "SLURM_JOB_GPUS=0,2"},
			PrologJob{ID: "41", UID: 1000, GPUUUIDs: []string{"GPU-aaaa", "GPU-cccc"}, GPUIndices: []int{0, 2}, Node: n},
			map[string]int{"GPU-aaaa": 0, "GPU-cccc": 2}},
		{"ranges", []string{"SLURM_JOB_ID=42", "SLURM_JOB_GPUS=0-1"},
			PrologJob{ID: "42", UID: 1000, GPUUUIDs: []string{"GPU-aaaa", "GPU-bbbb"}, GPUIndices: []int{0, 1}, Node: n},
			map[string]int{"GPU-aaaa": 0, "GPU-bbbb": 1}},
		{"UUIDs from CUDA_VISIBLE_DEVICES (25.11+)", []string{"SLURM_JOB_ID=43", "SLURM_JOB_GPUS=1", "CUDA_VISIBLE_DEVICES=GPU-bbbb"},
			PrologJob{ID: "43", UID: 1000, GPUUUIDs: []string{"GPU-bbbb"}, GPUIndices: []int{1}, Node: n},
			map[string]int{"GPU-bbbb": 1}},
		{"CPU-only job", []string{"SLURM_JOB_ID=44"}, PrologJob{ID: "44", UID: 1000, Node: n}, nil},
		{"index without a GPU", []string{"SLURM_JOB_ID=45", "SLURM_JOB_GPUS=7,x"}, PrologJob{ID: "45", UID: 1000, GPUIndices: []int{7}, Node: n}, nil},
		// Index 1 has a GPU, 7 none: GPU-bbbb must not be paired with 7,
		// nor with 1 by position, since the lists no longer line up.
		{"one index of two untranslated", []string{"SLURM_JOB_ID=47", "SLURM_JOB_GPUS=7,1"},
			PrologJob{ID: "47", UID: 1000, GPUUUIDs: []string{"GPU-bbbb"}, GPUIndices: []int{7, 1}, Node: n}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runScript(t, "jobscope-prolog.sh", append(base, tt.env...)...)
			b, err := os.ReadFile(filepath.Join(dir, tt.want.ID))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePrologFile(string(b))
			if err != nil {
				t.Fatalf("agent cannot parse the prolog's file: %v\n%s", err, b)
			}
			if got.Start.Before(before) || got.Start.After(time.Now().Add(time.Second)) {
				t.Errorf("start %v", got.Start)
			}
			got.Start = time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v\nfile:\n%s", got, tt.want, b)
			}
			if p := PairGRESIndices(got.GPUUUIDs, got.GPUIndices); !reflect.DeepEqual(p, tt.pairs) {
				t.Errorf("pairs %v, want %v\nfile:\n%s", p, tt.pairs, b)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(tests) {
		t.Errorf("%d files, want %d (no temporary files left)", len(entries), len(tests))
	}
	runScript(t, "jobscope-epilog.sh", "JOBSCOPE_PROLOG_DIR="+dir, "SLURM_JOB_ID=41")
	if _, err := os.Stat(filepath.Join(dir, "41")); !os.IsNotExist(err) {
		t.Errorf("epilog left the file: %v", err)
	}
	// Bad input never fails the job.
	if out := runScript(t, "jobscope-prolog.sh", "JOBSCOPE_PROLOG_DIR="+dir, "SLURM_JOB_ID=../x"); out == "" {
		t.Error("want a message for a bad job ID")
	}
	runScript(t, "jobscope-epilog.sh", "JOBSCOPE_PROLOG_DIR="+dir)

	// Without SLURM_JOB_UID the file still parses.
	runScript(t, "jobscope-prolog.sh", "JOBSCOPE_PROLOG_DIR="+dir, "SLURM_JOB_ID=46")
	b, err := os.ReadFile(filepath.Join(dir, "46"))
	if err != nil {
		t.Fatal(err)
	}
	if j, err := ParsePrologFile(string(b)); err != nil || j.UID != -1 || j.Node != "" {
		t.Errorf("no uid, no SLURMD_NODENAME: %+v, %v", j, err)
	}
}
