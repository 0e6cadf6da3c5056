package nodelocal

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCgroupPath(t *testing.T) {
	const pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f3c.slice/cri-containerd-4b1e9c.scope"
	tests := []struct {
		path string
		want CgroupJob
		ok   bool
	}{
		{"/slurm/uid_20821/job_11/step_0/task_0", CgroupJob{JobID: "11", UID: 20821, Step: "0", JobDir: "/slurm/uid_20821/job_11"}, true},
		{"/slurm/uid_20821/job_10", CgroupJob{JobID: "10", UID: 20821, JobDir: "/slurm/uid_20821/job_10"}, true},
		{"/slurm_node2/uid_0/job_7/step_extern", CgroupJob{JobID: "7", UID: 0, Step: "extern", JobDir: "/slurm_node2/uid_0/job_7"}, true},
		{"/system.slice/slurmstepd.scope/job_4/step_0/user/task_0", CgroupJob{JobID: "4", UID: -1, Step: "0", JobDir: "/system.slice/slurmstepd.scope/job_4"}, true},
		{"/system.slice/node2_slurmstepd.scope/job_5/step_batch", CgroupJob{JobID: "5", UID: -1, Step: "batch", JobDir: "/system.slice/node2_slurmstepd.scope/job_5"}, true},
		{"/gpu.slice/slurmstepd.scope/job_6", CgroupJob{JobID: "6", UID: -1, JobDir: "/gpu.slice/slurmstepd.scope/job_6"}, true}, // CgroupSlice=gpu.slice
		{"/system.slice/slurmstepd.scope/sEKNKTV3WPV500/step_0/user/task_0", CgroupJob{SLUID: "sEKNKTV3WPV500", UID: -1, Step: "0", JobDir: "/system.slice/slurmstepd.scope/sEKNKTV3WPV500"}, true},
		{pod + "/system.slice/slurmstepd.scope/job_77/step_0", CgroupJob{JobID: "77", UID: -1, Step: "0", JobDir: pod + "/system.slice/slurmstepd.scope/job_77"}, true},
		// A cgroup namespace shows the host's path as relative.
		{"/../../system.slice/slurmstepd.scope/job_8/step_0", CgroupJob{JobID: "8", UID: -1, Step: "0", JobDir: "/../../system.slice/slurmstepd.scope/job_8"}, true},
		{"/system.slice/slurmstepd.scope/system", CgroupJob{}, false},
		{"/user.slice/user-20821.slice/session-157.scope", CgroupJob{}, false},
		{"/torque/1182724.batch", CgroupJob{}, false},
		{"/kubepods/job_5", CgroupJob{}, false}, // not below a Slurm root
		{"/system.slice/slurmstepd.scope/job_0", CgroupJob{}, false},
		{"/system.slice/slurmstepd.scope/job_99999999999", CgroupJob{}, false},
		{"/system.slice/slurmstepd.scope/job_-1", CgroupJob{}, false},
		{"/system.slice/slurmstepd.scope/sIOUL0000000000", CgroupJob{}, false}, // not Crockford base-32
		{"", CgroupJob{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseCgroupPath(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseCgroupPath(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	// The recorded samples (treydock/cgroup_exporter fixtures).
	samples, err := os.ReadFile("../../../shared/fixtures/gpu/treydock-cgroup_exporter/proc-pid-cgroup-samples.txt")
	if err != nil {
		t.Skipf("shared fixtures not here: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(samples), "\n") {
		if strings.HasPrefix(l, "0::") {
			lines = append(lines, l)
		}
	}
	want := []string{"/system.slice/slurmstepd.scope/system", "/system.slice/slurmstepd.scope/job_4/step_0/user/task_0", "/user.slice/user-20821.slice/session-157.scope"}
	if len(lines) != len(want) {
		t.Fatalf("samples: %q", lines)
	}
	for i, l := range lines {
		if got := ParseProcCgroup(l + "\n"); got != want[i] {
			t.Errorf("ParseProcCgroup(%q) = %q, want %q", l, got, want[i])
		}
	}
	v1 := "12:memory:/slurm/uid_1/job_2/step_0\n11:devices:/slurm/uid_1/job_2/step_0/task_0\n1:name=systemd:/system.slice/slurmd.service\n"
	if got := ParseProcCgroup(v1); got != "/slurm/uid_1/job_2/step_0/task_0" {
		t.Errorf("v1: devices controller first, got %q", got)
	}
	// Hybrid hosts (systemd's default on Ubuntu 20.04, Debian 10): Slurm
	// confines jobs with the v1 controllers, and the unified "0::" line
	// only shows the systemd unit the task inherited from slurmd.
	hybrid := "12:devices:/slurm/uid_1/job_2/step_0/task_0\n4:memory:/slurm/uid_1/job_2/step_0\n1:name=systemd:/system.slice/slurmd.service\n0::/system.slice/slurmd.service\n"
	if got := ParseProcCgroup(hybrid); got != "/slurm/uid_1/job_2/step_0/task_0" {
		t.Errorf("hybrid: want the v1 job path, got %q", got)
	}
	// A pure v2 job on a host that also shows (empty) v1 lines keeps its v2 path.
	v2 := "1:name=systemd:/\n0::/system.slice/slurmstepd.scope/job_4/step_0/user/task_0\n"
	if got := ParseProcCgroup(v2); got != "/system.slice/slurmstepd.scope/job_4/step_0/user/task_0" {
		t.Errorf("v2: got %q", got)
	}
	if got := ParseProcCgroup("garbage\n1:name=systemd:/x\n"); got != "" {
		t.Errorf("no usable line: %q", got)
	}
}

func TestParseStepdTitle(t *testing.T) {
	for in, want := range map[string]string{
		"slurmstepd: [123.0]\x00":     "123",
		"slurmstepd: [55.extern]\x00": "55",
		"slurmstepd: [55.batch]":      "55",
		"slurmstepd: [55]":            "55",
		"slurmstepd\x00":              "",
		"slurmstepd: [x.0]":           "",
		"/usr/sbin/slurmd\x00-D\x00":  "",
		"slurmstepd: [123.0":          "",
	} {
		got, ok := ParseStepdTitle(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseStepdTitle(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParsePrologFile(t *testing.T) {
	j, err := ParsePrologFile("# jobscope prolog v1\njob_id=4\nsluid=sEKNKTV3WPV500\nuid=20821\nstart=1764400000\nnode=gpu-a01\ngpu_uuids=GPU-a,MIG-b\ngpu_indices=0, 3\nfuture_key=x\n")
	if err != nil {
		t.Fatal(err)
	}
	want := PrologJob{ID: "4", SLUID: "sEKNKTV3WPV500", UID: 20821, Start: time.Unix(1764400000, 0),
		GPUUUIDs: []string{"GPU-a", "MIG-b"}, GPUIndices: []int{0, 3}, Node: "gpu-a01"}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("got %+v\nwant %+v", j, want)
	}
	for _, bad := range []string{"", "uid=1\n", "job_id=abc\n", "job_id=1\nuid=-3\n", "job_id=1\nstart=x\n",
		"job_id=1\ngpu_uuids=0\n", "job_id=1\ngpu_indices=-1\n", "job_id=1\nno equals\n", "job_id=1\nsluid=nope\n",
		"job_id=1\nnode=a b\n", "job_id=1\nnode=gpu[1-2]\n", "job_id=1\nnode=a,b\n"} {
		if _, err := ParsePrologFile(bad); err == nil {
			t.Errorf("ParsePrologFile(%q) succeeded", bad)
		}
	}
}

// TestPairGRESIndices: only lists that pair one to one give a pairing; a
// UUID list shorter than the indices (an index the prolog could not
// translate) must never shift a UUID onto another GPU's index.
func TestPairGRESIndices(t *testing.T) {
	for _, tt := range []struct {
		uuids   []string
		indices []int
		want    map[string]int
	}{
		{[]string{"GPU-a", "GPU-c"}, []int{0, 2}, map[string]int{"GPU-a": 0, "GPU-c": 2}},
		{[]string{"MIG-x"}, []int{5}, map[string]int{"MIG-x": 5}},
		{[]string{"GPU-a"}, []int{0, 5}, nil}, // index 5 had no UUID: which one is GPU-a's is unknown
		{[]string{"GPU-a", "GPU-b"}, []int{3}, nil},
		{nil, []int{3}, nil},
		{[]string{"GPU-a"}, nil, nil},
		{[]string{"GPU-a", "GPU-a"}, []int{0, 1}, nil},
		{[]string{"GPU-a", "GPU-b"}, []int{1, 1}, nil},
	} {
		if got := PairGRESIndices(tt.uuids, tt.indices); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PairGRESIndices(%v, %v) = %v, want %v", tt.uuids, tt.indices, got, tt.want)
		}
	}
}

func TestParseDevicesList(t *testing.T) {
	got := ParseDevicesList("c 195:3 rwm\nc 195:255 rwm\nc 195:254 rwm\nc 195:1 rw\nc 195:1 m\nb 195:2 rwm\nc 243:0 rwm\na *:* rwm\nc 195:x rwm\n")
	if !reflect.DeepEqual(got, []int{1, 3}) {
		t.Errorf("got %v, want [1 3]", got)
	}
}

// tree copies testdata/name to a temporary directory and sets every mtime
// to mtime, so start times do not depend on the checkout.
func tree(t *testing.T, name string, mtime time.Time) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var t0 = time.Unix(1764390000, 0)

func TestDiscoverV2(t *testing.T) {
	root := tree(t, "v2", t0)
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "prolog")})
	res := d.Discover()
	if res.CgroupErr != nil || res.PrologErr != nil {
		t.Fatalf("errors: %v / %v", res.CgroupErr, res.PrologErr)
	}
	const pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f3c2a6e_1c4d_4a6b_9d7e_2b8f1a9c3d5e.slice/cri-containerd-4b1e9c.scope"
	want := []Job{
		{ID: "4", UID: 20821, Start: time.Unix(1764400000, 0), Cgroup: "/system.slice/slurmstepd.scope/job_4", Prolog: true,
			GPUUUIDs: []string{"GPU-a0000000-1111-2222-3333-000000000000", "GPU-a0000001-1111-2222-3333-000000000001"}},
		{ID: "5", UID: -1, Start: t0, Cgroup: "/system.slice/node2_slurmstepd.scope/job_5"},
		{ID: "77", UID: 1000, Start: time.Unix(1764400200, 0), Cgroup: pod + "/system.slice/slurmstepd.scope/job_77", Prolog: true, GPUIndices: []int{5}},
		// Cgroup named by SLUID, job ID from slurmstepd's title.
		{ID: "123", SLUID: "sEKNKTV3WPV500", UID: 20821, Start: time.Unix(1764400100, 0), Cgroup: "/system.slice/slurmstepd.scope/sEKNKTV3WPV500", Prolog: true,
			GPUUUIDs: []string{"GPU-a0000002-1111-2222-3333-000000000002"}},
		// No slurmstepd to ask and no prolog file: the SLUID stands in.
		{ID: "s5K1KKYAYG5D00", SLUID: "s5K1KKYAYG5D00", UID: -1, Start: t0, Cgroup: "/system.slice/slurmstepd.scope/s5K1KKYAYG5D00"},
		// Job 99's file cannot be proven stale while a SLUID job is unresolved.
		{ID: "99", UID: 1000, Start: time.Unix(1764300000, 0), Prolog: true, GPUUUIDs: []string{"GPU-a0000007-1111-2222-3333-000000000007"}},
	}
	sortJobsForTest(want)
	if !reflect.DeepEqual(res.Jobs, want) {
		t.Errorf("jobs:\n got %+v\nwant %+v", res.Jobs, want)
	}
	wantRoots := []string{pod + "/system.slice/slurmstepd.scope", "system.slice/node2_slurmstepd.scope", "system.slice/slurmstepd.scope"}
	for i := range wantRoots {
		wantRoots[i] = strings.TrimPrefix(wantRoots[i], "/")
	}
	if !reflect.DeepEqual(res.CgroupRoots, wantRoots) {
		t.Errorf("roots %q, want %q", res.CgroupRoots, wantRoots)
	}

	for pid, want := range map[uint32]string{49276: "4", 51001: "123", 52001: "s5K1KKYAYG5D00", 53001: "5", 61000: "77", 67998: "", 43310: "", 424242: ""} {
		got, ok := d.JobOfPID(pid)
		if got != want || ok != (want != "") {
			t.Errorf("JobOfPID(%d) = %q, %v; want %q", pid, got, ok, want)
		}
	}

	// Once the unresolved SLUID job ends, job 99's file is stale.
	if err := os.RemoveAll(filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/s5K1KKYAYG5D00")); err != nil {
		t.Fatal(err)
	}
	res = d.Discover()
	if !reflect.DeepEqual(res.StaleFiles, []string{"99"}) {
		t.Errorf("stale files %q, want [99]", res.StaleFiles)
	}
	for _, j := range res.Jobs {
		if j.ID == "99" || j.ID == "s5K1KKYAYG5D00" {
			t.Errorf("job %s must be gone", j.ID)
		}
	}
}

func sortJobsForTest(j []Job) {
	// Numeric IDs first in numeric order, then SLUIDs.
	for i := 1; i < len(j); i++ {
		for k := i; k > 0 && lessID(j[k].ID, j[k-1].ID); k-- {
			j[k], j[k-1] = j[k-1], j[k]
		}
	}
}

func TestDiscoverV1(t *testing.T) {
	root := tree(t, "v1", t0)
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "no-prolog")})
	res := d.Discover()
	if res.CgroupErr != nil || res.PrologErr != nil {
		t.Fatalf("errors: %v / %v", res.CgroupErr, res.PrologErr)
	}
	want := []Job{
		{ID: "10", UID: 20821, Start: t0, Cgroup: "/slurm/uid_20821/job_10", GPUMinors: []int{0}},
		{ID: "11", UID: 20821, Start: t0, Cgroup: "/slurm/uid_20821/job_11", GPUMinors: []int{1, 2}},
	}
	if !reflect.DeepEqual(res.Jobs, want) {
		t.Errorf("jobs:\n got %+v\nwant %+v", res.Jobs, want)
	}
	if id, ok := d.JobOfPID(32000); id != "11" || !ok {
		t.Errorf("JobOfPID(32000) = %q, %v", id, ok)
	}
}

func TestDiscoverStartFromOldestStep(t *testing.T) {
	root := tree(t, "v2", t0)
	job := filepath.Join(root, "cgroup/system.slice/node2_slurmstepd.scope/job_5")
	// The job directory's mtime moved when a later step was created; its
	// first step's did not.
	if err := os.Chtimes(job, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc")})
	for _, j := range d.Discover().Jobs {
		if j.ID == "5" && !j.Start.Equal(t0) {
			t.Errorf("job 5 start %v, want %v", j.Start, t0)
		}
	}
}

// A job's start time is read when its directory is first seen: a step
// created later (a newer step directory, the job directory's mtime moving)
// does not change it, and a directory that went and came back is a new job.
func TestJobStartReadOnce(t *testing.T) {
	root := tree(t, "v2", t0)
	job := filepath.Join(root, "cgroup/system.slice/node2_slurmstepd.scope/job_5")
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc")})
	start := func() (time.Time, bool) {
		for _, j := range d.Discover().Jobs {
			if j.ID == "5" {
				return j.Start, true
			}
		}
		return time.Time{}, false
	}
	if s, ok := start(); !ok || !s.Equal(t0) {
		t.Fatalf("job 5 start %v (found %v), want %v", s, ok, t0)
	}
	// Every step directory of the job is now an hour younger (the files
	// say so; the job did not restart).
	later := t0.Add(time.Hour)
	for _, p := range []string{job, filepath.Join(job, "step_0")} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if s, ok := start(); !ok || !s.Equal(t0) {
		t.Errorf("job 5 start %v after its directories changed, want %v", s, t0)
	}
	// The job ends (seen so), and a job of the same ID starts later.
	if err := os.RemoveAll(job); err != nil {
		t.Fatal(err)
	}
	if _, ok := start(); ok {
		t.Fatal("job 5 still found after its cgroup went")
	}
	if err := os.MkdirAll(filepath.Join(job, "step_0"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{job, filepath.Join(job, "step_0")} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if s, ok := start(); !ok || !s.Equal(later) {
		t.Errorf("restarted job 5 start %v (found %v), want %v", s, ok, later)
	}
}

// Prolog files are parsed once, but a file replaced (the prolog renames a
// new one into place) or removed is seen at the next discovery.
func TestPrologFileReplaced(t *testing.T) {
	root := tree(t, "v2", t0)
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "prolog")})
	gpus := func() []string {
		for _, j := range d.Discover().Jobs {
			if j.ID == "4" {
				return j.GPUUUIDs
			}
		}
		return nil
	}
	if g := gpus(); len(g) != 2 {
		t.Fatalf("job 4 GPUs %q, want 2", g)
	}
	tmp := filepath.Join(root, "prolog", ".4.tmp")
	if err := os.WriteFile(tmp, []byte("job_id=4\nuid=20821\nstart=1764400000\ngpu_uuids=GPU-a0000005-1111-2222-3333-000000000005\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "prolog", "4")); err != nil {
		t.Fatal(err)
	}
	if g := gpus(); !reflect.DeepEqual(g, []string{"GPU-a0000005-1111-2222-3333-000000000005"}) {
		t.Errorf("job 4 GPUs %q after the file was replaced", g)
	}
	if err := os.Remove(filepath.Join(root, "prolog", "4")); err != nil {
		t.Fatal(err)
	}
	if g := gpus(); g != nil {
		t.Errorf("job 4 GPUs %q after its file went", g)
	}
}

func TestDiscoverMissingSources(t *testing.T) {
	d := New(Config{CgroupFS: filepath.Join(t.TempDir(), "none"), ProcFS: "/nonexistent", PrologDir: "/nonexistent/prolog"})
	res := d.Discover()
	if res.CgroupErr == nil {
		t.Error("want an error for a missing cgroup filesystem")
	}
	if res.PrologErr != nil || len(res.Jobs) != 0 {
		t.Errorf("a missing prolog directory is not an error: %v %+v", res.PrologErr, res.Jobs)
	}
}

func TestDiscoverBadPrologFile(t *testing.T) {
	root := tree(t, "v2", t0)
	if err := os.WriteFile(filepath.Join(root, "prolog", "bad"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "prolog")})
	res := d.Discover()
	if res.PrologErr == nil {
		t.Error("want the bad file reported")
	}
	found := false
	for _, j := range res.Jobs {
		found = found || (j.ID == "4" && j.Prolog)
	}
	if !found {
		t.Error("one bad file must not lose the others")
	}
}

func TestRescanBetweenWalks(t *testing.T) {
	root := tree(t, "v2", t0)
	now := t0
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), FullWalkEvery: time.Minute, Now: func() time.Time { return now }})
	n := len(d.Discover().Jobs)
	// A job appears under a known root: seen at once, without a full walk.
	if err := os.MkdirAll(filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/job_9/step_0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Discover().Jobs); got != n+1 {
		t.Errorf("jobs %d, want %d", got, n+1)
	}
	// A new slurmd root is only found by the next full walk.
	if err := os.MkdirAll(filepath.Join(root, "cgroup/system.slice/node3_slurmstepd.scope/job_10"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Discover().Jobs); got != n+1 {
		t.Errorf("before the walk: jobs %d, want %d", got, n+1)
	}
	now = now.Add(time.Minute)
	if got := len(d.Discover().Jobs); got != n+2 {
		t.Errorf("after the walk: jobs %d, want %d", got, n+2)
	}
}

func FuzzParseCgroupPath(f *testing.F) {
	for _, s := range []string{"/slurm/uid_20821/job_11/step_0/task_0", "/system.slice/slurmstepd.scope/sEKNKTV3WPV500/step_0/user/task_0",
		"/system.slice/node2_slurmstepd.scope/job_5", "0::/system.slice/slurmstepd.scope/job_4/step_0/user/task_0\n", "/slurm/uid_/job_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := ParseCgroupPath(s); ok {
			if (c.JobID == "") == (c.SLUID == "") || !strings.HasPrefix(s, c.JobDir) {
				t.Fatalf("ParseCgroupPath(%q) = %+v", s, c)
			}
		}
		if c, ok := ParseCgroupPath(ParseProcCgroup(s)); ok && c.Key() == "" {
			t.Fatalf("empty key from %q", s)
		}
		ParseStepdTitle(s)
		ParseDevicesList(s)
		if j, err := ParsePrologFile(s); err == nil && j.ID == "" {
			t.Fatalf("prolog file without job ID accepted: %q", s)
		}
	})
}

func TestJobOfPIDCache(t *testing.T) {
	root := tree(t, "v2", t0)
	now := t0
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"),
		PIDTTL: time.Minute, Now: func() time.Time { return now }})
	d.Discover()
	if id, ok := d.JobOfPID(49276); id != "4" || !ok {
		t.Fatalf("JobOfPID = %q, %v", id, ok)
	}
	// The answer is remembered: /proc is not read again within the TTL.
	cg := filepath.Join(root, "proc/49276/cgroup")
	if err := os.WriteFile(cg, []byte("0::/user.slice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, ok := d.JobOfPID(49276); id != "4" || !ok {
		t.Errorf("cached JobOfPID = %q, %v", id, ok)
	}
	// Job 4 ends: its entry goes with the next discovery.
	if err := os.RemoveAll(filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/job_4")); err != nil {
		t.Fatal(err)
	}
	d.Discover()
	if id, ok := d.JobOfPID(49276); ok {
		t.Errorf("after the job ended JobOfPID = %q, %v", id, ok)
	}
	// And an entry expires after the TTL.
	if err := os.WriteFile(cg, []byte("0::/system.slice/slurmstepd.scope/job_5/step_0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	d.Discover()
	if id, ok := d.JobOfPID(49276); id != "5" || !ok {
		t.Errorf("after the TTL JobOfPID = %q, %v", id, ok)
	}
}

func TestYoungPrologFileIsNotStale(t *testing.T) {
	root := tree(t, "v2", t0)
	if err := os.RemoveAll(filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/s5K1KKYAYG5D00")); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1764400000, 0)
	// Job 200's prolog ran 30 s ago; slurmstepd has not made its cgroup yet.
	if err := os.WriteFile(filepath.Join(root, "prolog", "200"), []byte("job_id=200\nstart=1764399970\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"),
		PrologDir: filepath.Join(root, "prolog"), Now: func() time.Time { return now }})
	res := d.Discover()
	if !reflect.DeepEqual(res.StaleFiles, []string{"99"}) {
		t.Errorf("stale %q, want [99] only", res.StaleFiles)
	}
	found := false
	for _, j := range res.Jobs {
		found = found || j.ID == "200"
	}
	if !found {
		t.Error("a starting job must be kept")
	}
	now = now.Add(3 * time.Minute)
	if res := d.Discover(); !reflect.DeepEqual(res.StaleFiles, []string{"200", "99"}) {
		t.Errorf("stale %q, want [200 99]", res.StaleFiles)
	}
}

// The SLUID -> job ID map learnt from slurmstepd and prolog files must
// forget jobs that ended: a node runs many thousands of jobs between
// agent restarts.
func TestSLUIDsForgottenWhenJobEnds(t *testing.T) {
	root := tree(t, "v2", t0)
	d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "prolog")})
	d.Discover()
	if _, ok := d.sluids["sEKNKTV3WPV500"]; !ok {
		t.Fatalf("SLUID not learnt: %v", d.sluids)
	}
	if err := os.RemoveAll(filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/sEKNKTV3WPV500")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "prolog/123")); err != nil {
		t.Fatal(err)
	}
	d.Discover()
	if _, ok := d.sluids["sEKNKTV3WPV500"]; ok {
		t.Errorf("SLUID of an ended job still remembered: %v", d.sluids)
	}
}
