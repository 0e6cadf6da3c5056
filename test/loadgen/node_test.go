package loadgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteNodeTree: prolog files name the GPUs given, each GPU process's
// cgroup is in the job holding its GPU, and job files are copied.
func TestWriteNodeTree(t *testing.T) {
	root := t.TempDir()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "memory.current"), []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteNodeTree(root, NodeConfig{GPUUUIDs: []string{"GPU-a", "GPU-b"}, Jobs: 3, Procs: 5, JobFilesDir: src}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("prolog/1002"); !strings.Contains(got, "job_id=1002\n") || !strings.Contains(got, "gpu_uuids=GPU-b\n") {
		t.Errorf("prolog/1002:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(root, "prolog/1003")); !os.IsNotExist(err) {
		t.Errorf("CPU-only job 1003 has a prolog file (%v)", err)
	}
	// Process 3 runs on GPU 3%2 = 1, held by job 1002.
	if got, want := read("proc/20003/cgroup"), "0::/system.slice/slurmstepd.scope/job_1002/step_0/user/task_0\n"; got != want {
		t.Errorf("proc/20003/cgroup = %q, want %q", got, want)
	}
	if got := read("cgroup/system.slice/slurmstepd.scope/job_1003/memory.current"); got != "42\n" {
		t.Errorf("job 1003 memory.current = %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "proc", "20005")); !os.IsNotExist(err) {
		t.Errorf("a sixth process was written (%v)", err)
	}
	if err := WriteNodeTree(t.TempDir(), NodeConfig{Procs: 1}); err == nil {
		t.Error("GPU processes without GPUs: no error")
	}
}
