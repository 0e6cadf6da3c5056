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

// TestBadNodeFlagValuesRefused: the node command's own flags, registered
// beside the code they configure, refuse a bad value while parsing, before
// anything starts, naming the flag.
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

// TestDefaultCommand: the node-only build runs node when args name no
// command (units and charts may call jobscope-node with flags alone); the
// full build wants a command named.
func TestDefaultCommand(t *testing.T) {
	selected, _, err := parse([]string{"--gpu.backend=none", "--kubelet.pod-resources-socket="})
	switch defaultCommand {
	case "node":
		if err != nil || selected != "node" {
			t.Errorf("%s with node flags only: selected %q, err %v; want node", appName, selected, err)
		}
	case "":
		if err == nil {
			t.Errorf("%s: node flags without a command were accepted (selected %q)", appName, selected)
		}
	default:
		t.Errorf("defaultCommand %q: want node or none", defaultCommand)
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
