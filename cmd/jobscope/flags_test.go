package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBadFlagValuesRefused: a bad value is refused while parsing, before
// anything starts, and the error names the flag.
func TestBadFlagValuesRefused(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--slurm.poll-interval=abc"}, `--slurm.poll-interval: time: invalid duration "abc"`},
		{[]string{"--slurm.poll-interval=0s"}, "--slurm.poll-interval: 0s: must be positive"},
		{[]string{"--slurm.poll-interval=-5s"}, "--slurm.poll-interval: -5s: must be positive"},
		{[]string{"--slurm.poll-interval=1ms"}, "--slurm.poll-interval: 1ms: must be at least 1s"},
		{[]string{"--slurm.poll-timeout=-1s"}, "--slurm.poll-timeout: -1s: must be positive"},
		{[]string{"--slurm.request-timeout=0s"}, "--slurm.request-timeout: 0s: must be positive"},
		{[]string{"--slurm.max-staleness=-1m"}, "--slurm.max-staleness: -1m: must be positive"},
		{[]string{"--slurm.max-staleness=10s"}, "--slurm.max-staleness: 10s is shorter than --slurm.poll-interval (30s)"},
		{[]string{"--slurm.poll-interval=2m", "--slurm.max-staleness=1m"}, "--slurm.max-staleness: 1m0s is shorter than --slurm.poll-interval (2m0s)"},
		{[]string{"--slurm.source=ftp"}, `--slurm.source: "ftp" is not one of rest, cli`},
		{[]string{"--otlp.interval=0s"}, "--otlp.interval: 0s: must be positive"},
		{[]string{"--web.scrape-timeout=0s"}, "--web.scrape-timeout: 0s: must be positive"},
		{[]string{"--web.timeout-offset=-1s"}, "--web.timeout-offset: -1s: must be positive"},
		{[]string{"--web.max-requests=-1"}, "--web.max-requests: -1: must be at least 0"},
		{[]string{"--log.level=loud"}, "--log.level: "},
		{[]string{"--log.format=xml"}, "--log.format: "},
	} {
		_, _, err := parse(append([]string{"slurm"}, tt.args...))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestBadNodeFlagValuesRefused: the node command's own flags, registered
// beside the code they configure, refuse bad values the same way.
func TestBadNodeFlagValuesRefused(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--gpu.backend=rocm"}, `--gpu.backend: "rocm" is not one of nvml, dcgm, simulated, none`},
		{[]string{"--gpu.cache-age=abc"}, `--gpu.cache-age: time: invalid duration "abc"`},
		{[]string{"--gpu.cache-age=-2s"}, "--gpu.cache-age: -2s: must be positive"},
		{[]string{"--gpu.cache-age=1ms"}, "--gpu.cache-age: 1ms: must be at least 100ms"},
		{[]string{"--gpu.simulated-count=0"}, "--gpu.simulated-count: 0: must be at least 1"},
		{[]string{"--dcgm.exporter-url=localhost:9400"}, `--dcgm.exporter-url: "localhost:9400": want an http:// or https:// URL with a host`},
		{[]string{"--dcgm.mig-uuids=dcgm"}, `--dcgm.mig-uuids: "dcgm" is not one of nvml, none`},
		{[]string{"--slurm.cgroup-walk-interval=0s"}, "--slurm.cgroup-walk-interval: 0s: must be positive"},
		{[]string{"--slurm.cgroup-walk-interval=10ms"}, "--slurm.cgroup-walk-interval: 10ms: must be at least 1s"},
		{[]string{"--web.scrape-timeout=0s"}, "--web.scrape-timeout: 0s: must be positive"},
	} {
		_, _, err := parse(append([]string{"node"}, tt.args...))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
	for _, args := range [][]string{
		nil,
		{"--gpu.backend=dcgm", "--dcgm.exporter-url=https://node7:9400/metrics", "--dcgm.mig-uuids=none"},
		{"--gpu.backend=simulated", "--gpu.simulated-count=1", "--gpu.cache-age=0", "--slurm.cgroup-walk-interval=1s"},
		{"--gpu.backend=none", "--gpu.cache-age=100ms", "--no-slurm.discovery", "--kubelet.pod-resources-socket="},
	} {
		if _, _, err := parse(append([]string{"node"}, args...)); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestGoodFlagValuesAccepted(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--slurm.poll-interval=1s", "--slurm.max-staleness=0"},
		{"--slurm.poll-interval=5m", "--slurm.max-staleness=5m", "--slurm.poll-timeout=30s"},
		{"--slurm.source=cli", "--log.level=debug", "--log.format=json", "--web.max-requests=0", "--web.timeout-offset=0s"},
	} {
		if _, _, err := parse(append([]string{"slurm"}, args...)); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestMain runs the binary's main when the test re-executes itself as
// jobscope (JOBSCOPE_TEST_MAIN=1), for tests that need its exit code and
// its log on stderr.
func TestMain(m *testing.M) {
	if os.Getenv("JOBSCOPE_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestListenAddressInUseFirst: with the listen address taken, `jobscope
// slurm` says so and exits before it polls: at the default log level,
// nothing else is logged (before binding first, six poll-deadline
// warnings and nine collector errors came before the one true line).
func TestListenAddressInUseFirst(t *testing.T) {
	taken := listenTaken(t)
	// A slurmrestd that accepts and never answers: a poll started before
	// the bind would log its deadline.
	hang := listenTaken(t)
	wantOnlyAddressInUse(t, taken, "slurm",
		"--slurm.rest-url=http://"+hang,
		"--slurm.poll-interval=1s", "--slurm.max-staleness=0")
}

// TestNodeListenAddressInUseFirst: the same for `jobscope node`, with
// backends that would log at start: simulated GPUs warn "for demos only",
// and a prolog directory that does not exist is read before the bind
// would have been.
func TestNodeListenAddressInUseFirst(t *testing.T) {
	taken := listenTaken(t)
	wantOnlyAddressInUse(t, taken, "node", "--gpu.backend=simulated",
		"--kubelet.pod-resources-socket=/nonexistent/kubelet.sock",
		"--path.rootfs="+t.TempDir(), "--path.cgroupfs="+t.TempDir())
}

// listenTaken holds a loopback address for the test and returns it.
func listenTaken(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// wantOnlyAddressInUse runs the binary's command on the taken address and
// wants exit code 1 with one line on stderr, naming the address in use.
func wantOnlyAddressInUse(t *testing.T, taken, command string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{command, "--web.listen-address=" + taken}, args...)...)
	cmd.Env = append(os.Environ(), "JOBSCOPE_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "--web.listen-address="+taken) ||
		!strings.Contains(lines[0], "address already in use") {
		t.Errorf("stderr, want the one line naming the address in use:\n%s", stderr.String())
	}
}
