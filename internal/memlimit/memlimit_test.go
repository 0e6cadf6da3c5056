package memlimit

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

func parse(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	app := kingpin.New("test", "")
	f := AddFlags(app)
	_, err := app.Parse(args)
	return f, err
}

func TestLimitChoice(t *testing.T) {
	noCgroup := func() (int64, error) { return 0, errNoCgroup }
	cgroup := func() (int64, error) { return 1000 << 20, nil }
	for _, c := range []struct {
		args       []string
		env        string
		cgroup     func() (int64, error)
		want       int64
		wantSource string
	}{
		{nil, "", noCgroup, int64(DefaultLimit), "default"},
		{nil, "", cgroup, 900 << 20, "cgroup memory limit × 0.9"},
		{nil, "300MiB", cgroup, 0, "GOMEMLIMIT"},
		{[]string{"--runtime.memory-limit=256MiB"}, "300MiB", cgroup, 256 << 20, "--runtime.memory-limit"},
		{[]string{"--runtime.memory-limit=1GB"}, "", noCgroup, 1 << 30, "--runtime.memory-limit"},
		{[]string{"--runtime.memory-limit=0"}, "", cgroup, math.MaxInt64, "--runtime.memory-limit"},
		{[]string{"--runtime.memory-limit=auto"}, "", noCgroup, int64(DefaultLimit), "default"},
	} {
		f, err := parse(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		got, source := f.limit(c.env, c.cgroup)
		if got != c.want || source != c.wantSource {
			t.Errorf("%v, GOMEMLIMIT=%q: %d from %q, want %d from %q", c.args, c.env, got, source, c.want, c.wantSource)
		}
	}
}

func TestBadValuesNameTheFlag(t *testing.T) {
	for _, v := range []string{"lots", "-5MiB", "12XB"} {
		_, err := parse(t, "--runtime.memory-limit="+v)
		if err == nil || !strings.Contains(err.Error(), "--runtime.memory-limit") {
			t.Errorf("%s: error %v, want one naming the flag", v, err)
		}
	}
}

func TestCgroupLimit(t *testing.T) {
	write := func(t *testing.T, path, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, self string
		files      map[string]string
		want       int64
		wantErr    error
	}{
		{"v2 limited", "0::/system.slice/jobscope.service\n",
			map[string]string{"system.slice/jobscope.service/memory.max": "536870912\n"}, 512 << 20, nil},
		{"v2 max", "0::/system.slice/jobscope.service\n",
			map[string]string{"system.slice/jobscope.service/memory.max": "max\n"}, 0, nil},
		{"v2 root, no memory.max", "0::/\n", nil, 0, errNoCgroup},
		{"v1 limited", "12:cpu,cpuacct:/x\n7:memory:/slurm/job_1\n",
			map[string]string{"memory/slurm/job_1/memory.limit_in_bytes": "1073741824\n"}, 1 << 30, nil},
		{"v1 unlimited", "7:memory:/\n",
			map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "self"), c.self)
			for p, s := range c.files {
				write(t, filepath.Join(dir, "root", p), s)
			}
			got, err := cgroupLimitAt(filepath.Join(dir, "self"), filepath.Join(dir, "root"))
			if got != c.want || !errors.Is(err, c.wantErr) {
				t.Errorf("%d, %v; want %d, %v", got, err, c.want, c.wantErr)
			}
		})
	}
}
