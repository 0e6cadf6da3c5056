package nodelocal

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The job cgroup files below testdata/v1/cgroup/{cpuacct,cpuset,memory}
// and testdata/v2/cgroup/system.slice/slurmstepd.scope/job_4 are unpacked
// by hand from treydock/cgroup_exporter's recorded fixtures.ttar (see
// testdata/README.md); the values below are theirs.

func u(v uint64) Opt[uint64] { return Opt[uint64]{V: v, OK: true} }

func TestHostReaderRecorded(t *testing.T) {
	for _, tc := range []struct {
		name, tree, cgroup string
		memoryStat         bool
		want               HostStats
	}{
		{"v2 job_4", "v2", "/system.slice/slurmstepd.scope/job_4", true, HostStats{
			CPUSeconds: some(0.126686), CPUs: some(1),
			MemoryUsed: u(5660672), MemoryAnon: u(2260992), MemoryFile: u(516096),
			MemoryPeak: u(7229440), MemoryLimit: u(1835008000), OOMKills: u(0),
		}},
		{"v2 job_4 without memory.stat", "v2", "/system.slice/slurmstepd.scope/job_4", false, HostStats{
			CPUSeconds: some(0.126686), CPUs: some(1), MemoryUsed: u(5660672),
			MemoryPeak: u(7229440), MemoryLimit: u(1835008000), OOMKills: u(0),
		}},
		// Recorded on a kernel older than 4.13: memory.oom_control has no
		// oom_kill line, so OOM kills are absent, not 0.
		{"v1 job_10", "v1", "/slurm/uid_20821/job_10", true, HostStats{
			CPUSeconds: some(0.007710215), CPUs: some(2),
			MemoryUsed: u(356352), MemoryAnon: u(311296), MemoryFile: u(4096),
			MemoryPeak: u(552960), MemoryLimit: u(2147483648),
		}},
		{"v1 job_11", "v1", "/slurm/uid_20821/job_11", true, HostStats{
			CPUSeconds: some(33146.523011972), CPUs: some(40),
			MemoryUsed: u(6126714880), MemoryAnon: u(6051483648), MemoryFile: u(74915840),
			MemoryPeak: u(8346267648), MemoryLimit: u(191092490240),
		}},
		// Discovered, but no stats files: every field absent.
		{"v2 second slurmd, no files", "v2", "/system.slice/node2_slurmstepd.scope/job_5", true, HostStats{}},
		// The job ended between the walk and the read.
		{"v2 vanished", "v2", "/system.slice/slurmstepd.scope/job_999", true, HostStats{}},
		{"v1 vanished", "v1", "/slurm/uid_20821/job_999", true, HostStats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewHostReader(filepath.Join("testdata", tc.tree, "cgroup"))
			r.MemoryStat = tc.memoryStat
			got, err := r.Read(tc.cgroup)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Read(%s)\n got %+v\nwant %+v", tc.cgroup, got, tc.want)
			}
		})
	}
}

// TestHostReaderDiscovered reads every job Discovery finds, as the node
// agent does: jobs without a cgroup or without files give no error.
func TestHostReaderDiscovered(t *testing.T) {
	for _, name := range []string{"v1", "v2"} {
		root := tree(t, name, t0)
		d := New(Config{CgroupFS: filepath.Join(root, "cgroup"), ProcFS: filepath.Join(root, "proc"), PrologDir: filepath.Join(root, "prolog")})
		r := NewHostReader(filepath.Join(root, "cgroup"))
		withCPU := 0
		for _, j := range d.Discover().Jobs {
			if j.Cgroup == "" {
				continue
			}
			s, err := r.Read(j.Cgroup)
			if err != nil {
				t.Errorf("%s job %s: %v", name, j.ID, err)
			}
			if s.CPUSeconds.OK {
				withCPU++
			}
		}
		if want := map[string]int{"v1": 2, "v2": 1}[name]; withCPU != want {
			t.Errorf("%s: %d jobs with CPU seconds, want %d", name, withCPU, want)
		}
	}
}

// TestHostReaderPartial: a file a kernel lacks (memory.peak before 5.19) is
// absent; a file with garbage is an error for that field only.
func TestHostReaderPartial(t *testing.T) {
	root := tree(t, "v2", t0)
	job := filepath.Join(root, "cgroup/system.slice/slurmstepd.scope/job_4")
	if err := os.Remove(filepath.Join(job, "memory.peak")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(job, "memory.max"), []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(job, "memory.current"), []byte("lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewHostReader(filepath.Join(root, "cgroup"))
	s, err := r.Read("/system.slice/slurmstepd.scope/job_4")
	if err == nil || !strings.Contains(err.Error(), "memory.current") {
		t.Errorf("want an error naming memory.current, got %v", err)
	}
	want := HostStats{CPUSeconds: some(0.126686), CPUs: some(1), OOMKills: u(0)}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

func TestHostReaderNoCgroupFS(t *testing.T) {
	r := NewHostReader(t.TempDir())
	if _, err := r.Read("/slurm/uid_1/job_1"); err == nil {
		t.Error("want an error without any cgroup hierarchy")
	}
}

// TestHostReaderCoMountedCPU: cpuacct only as cpu,cpuacct (no symlink).
func TestHostReaderCoMountedCPU(t *testing.T) {
	root := tree(t, "v1", t0)
	cg := filepath.Join(root, "cgroup")
	if err := os.Rename(filepath.Join(cg, "cpuacct"), filepath.Join(cg, "cpu,cpuacct")); err != nil {
		t.Fatal(err)
	}
	s, err := NewHostReader(cg).Read("/slurm/uid_20821/job_10")
	if err != nil || s.CPUSeconds != some(0.007710215) {
		t.Errorf("got %+v, %v", s.CPUSeconds, err)
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0\n", 1, true},           // recorded v2 job_4
		{"0-1\n", 2, true},         // recorded v1 job_10
		{"0-39\n", 40, true},       // recorded v1 job_11
		{"0-3,8,10-11\n", 7, true}, // cpuset(7)'s form
		{"0-3,64-127", 68, true},
		{"", 0, false},
		{"\n", 0, false},
		{"3-1", 0, false},
		{"1,,2", 0, false},
		{"-1", 0, false},
		{"0-", 0, false},
		{"a-b", 0, false},
		{"0-70000", 0, false},
		{"+1", 0, false},
		{"0 - 3", 0, false},
	} {
		n, err := ParseCPUList(tc.in)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("ParseCPUList(%q) = %d, %v; want %d, ok=%v", tc.in, n, err, tc.want, tc.ok)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Opt[uint64]
		ok   bool
	}{
		{"1835008000\n", u(1835008000), true}, // recorded v2 memory.max
		{"2147483648\n", u(2147483648), true}, // recorded v1 memory.limit_in_bytes
		{"max\n", Opt[uint64]{}, true},
		{"9223372036854771712\n", Opt[uint64]{}, true}, // v1 unlimited, 4 KiB pages
		{"9223372036854710272\n", Opt[uint64]{}, true}, // v1 unlimited, 64 KiB pages
		{"", Opt[uint64]{}, false},
		{"-1", Opt[uint64]{}, false},
		{"1.5e9", Opt[uint64]{}, false},
	} {
		v, err := ParseLimit(tc.in)
		if (err == nil) != tc.ok || v != tc.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v, ok=%v", tc.in, v, err, tc.want, tc.ok)
		}
	}
}

func TestParseKeyed(t *testing.T) {
	cpuStat, err := os.ReadFile("testdata/v2/cgroup/system.slice/slurmstepd.scope/job_4/cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	oomV1, err := os.ReadFile("testdata/v1/cgroup/memory/slurm/uid_20821/job_10/memory.oom_control")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, key string
		want    uint64
		found   bool
		ok      bool
	}{
		{string(cpuStat), "usage_usec", 126686, true, true},
		{string(cpuStat), "system_usec", 77642, true, true},
		{string(cpuStat), "usage", 0, false, true},
		{string(oomV1), "oom_kill_disable", 0, true, true},
		{string(oomV1), "oom_kill", 0, false, true}, // before Linux 4.13
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill", 3, true, true},
		{"oom_kill x\n", "oom_kill", 0, false, false},
		{"oom_kill\n", "oom_kill", 0, false, true},
		{"", "oom_kill", 0, false, true},
	} {
		v, found, err := ParseKeyed(tc.in, tc.key)
		if v != tc.want || found != tc.found || (err == nil) != tc.ok {
			t.Errorf("ParseKeyed(%q, %q) = %d, %v, %v", tc.in, tc.key, v, found, err)
		}
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0", "0-39\n", "0-3,8,10-11", "", "3-1", "0-65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCPUList(s)
		if err != nil {
			return
		}
		if n < 1 {
			t.Fatalf("ParseCPUList(%q) = %d without error", s, n)
		}
		// Counting by hand over the same list must agree.
		seen := 0
		for _, part := range strings.Split(strings.TrimSpace(s), ",") {
			lo, hi, r := strings.Cut(part, "-")
			a, _ := strconv.Atoi(lo)
			b := a
			if r {
				b, _ = strconv.Atoi(hi)
			}
			seen += b - a + 1
		}
		if seen != n {
			t.Fatalf("ParseCPUList(%q) = %d, counted %d", s, n, seen)
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"max\n", "1835008000\n", "9223372036854771712", "", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseLimit(s)
		if err != nil && v.OK {
			t.Fatalf("ParseLimit(%q) = %+v with error %v", s, v, err)
		}
		if v.OK && v.V >= unlimitedV1 {
			t.Fatalf("ParseLimit(%q) = %+v: unlimited taken as a limit", s, v)
		}
		if u, err := ParseUint(s); err == nil && u < unlimitedV1 && (!v.OK || v.V != u) {
			t.Fatalf("ParseLimit(%q) = %+v, ParseUint %d", s, v, u)
		}
	})
}

func FuzzParseKeyed(f *testing.F) {
	for _, s := range []string{"usage_usec 126686\nuser_usec 49043\n", "oom_kill_disable 0\nunder_oom 0\n", "oom_kill 1", "oom_kill x"} {
		f.Add(s, "oom_kill")
		f.Add(s, "usage_usec")
	}
	f.Fuzz(func(t *testing.T, s, key string) {
		v, found, err := ParseKeyed(s, key)
		if err != nil && found {
			t.Fatalf("ParseKeyed(%q, %q): found with error %v", s, key, err)
		}
		if !found && v != 0 {
			t.Fatalf("ParseKeyed(%q, %q) = %d not found", s, key, v)
		}
		if found && !strings.Contains(s, key+" ") {
			t.Fatalf("ParseKeyed(%q, %q) found a key that is not there", s, key)
		}
	})
}

// benchJobs builds n v2 job cgroups from the recorded job_4 files.
func benchJobs(b *testing.B, n int) (string, []string) {
	b.Helper()
	root := b.TempDir()
	src := "testdata/v2/cgroup/system.slice/slurmstepd.scope/job_4"
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	var cgroups []string
	for i := range n {
		rel := "/system.slice/slurmstepd.scope/job_" + strconv.Itoa(1000+i)
		dir := filepath.Join(root, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		cgroups = append(cgroups, rel)
	}
	return root, cgroups
}

// BenchmarkHostRead16 reads 16 jobs' stats, as one scrape of a node
// running 16 jobs does (docs/performance.md).
func BenchmarkHostRead16(b *testing.B) {
	root, cgroups := benchJobs(b, 16)
	for _, memStat := range []bool{false, true} {
		b.Run("memory.stat="+strconv.FormatBool(memStat), func(b *testing.B) {
			r := NewHostReader(root)
			r.MemoryStat = memStat
			b.ReportAllocs()
			var before, after syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			n := 0
			for b.Loop() {
				for _, c := range cgroups {
					if s, err := r.Read(c); err != nil || !s.CPUSeconds.OK {
						b.Fatal(s, err)
					}
				}
				n++
			}
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
		})
	}
}
