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
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// A slurmrestd that accepts and never answers: a poll started before
	// the bind would log its deadline.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "slurm",
		"--web.listen-address="+taken.Addr().String(),
		"--slurm.rest-url=http://"+hang.Addr().String(),
		"--slurm.poll-interval=1s", "--slurm.max-staleness=0")
	cmd.Env = append(os.Environ(), "JOBSCOPE_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "--web.listen-address="+taken.Addr().String()) ||
		!strings.Contains(lines[0], "address already in use") {
		t.Errorf("stderr, want the one line naming the address in use:\n%s", stderr.String())
	}
}

// --dcgm.mig-uuids takes nvml or none, nothing else.
func TestDCGMMIGUUIDsFlag(t *testing.T) {
	for _, v := range []string{"nvml", "none"} {
		if _, _, err := parse([]string{"node", "--gpu.backend=dcgm", "--dcgm.mig-uuids=" + v}); err != nil {
			t.Errorf("--dcgm.mig-uuids=%s: %v", v, err)
		}
	}
	_, _, err := parse([]string{"node", "--gpu.backend=dcgm", "--dcgm.mig-uuids=dcgm"})
	if err == nil || !strings.Contains(err.Error(), "dcgm.mig-uuids") || !strings.Contains(err.Error(), "nvml, none") {
		t.Errorf("--dcgm.mig-uuids=dcgm: err %v, want one naming the flag and its values", err)
	}
}
