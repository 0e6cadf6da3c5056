package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/testkit"
)

// binary is the jobscope binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv("JOBSCOPE_E2E") != "1" {
		os.Exit(m.Run()) // every test skips
	}
	dir, err := os.MkdirTemp("", "jobscope-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "jobscope")
	start := time.Now()
	build := exec.Command("go", "build", "-o", binary, "jobscope/cmd/jobscope")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building jobscope: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Printf("e2e: built %s in %.1fs\n", binary, time.Since(start).Seconds())
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster holds what test/slurmlocal/up.sh wrote to $BASE/env.sh.
type cluster struct {
	base, restURL, tokenFile, user, socket string
}

// needCluster skips unless JOBSCOPE_E2E=1 and fails when the cluster's env is missing.
func needCluster(t *testing.T) cluster {
	t.Helper()
	if os.Getenv("JOBSCOPE_E2E") != "1" {
		t.Skip("end-to-end test against a real Slurm: run `make test-e2e` (JOBSCOPE_E2E=1, cluster from test/slurmlocal)")
	}
	c := cluster{
		base:      os.Getenv("JOBSCOPE_SLURMLOCAL_BASE"),
		restURL:   os.Getenv("JOBSCOPE_SLURMRESTD_URL"),
		tokenFile: os.Getenv("JOBSCOPE_SLURMRESTD_TOKEN_FILE"),
		user:      os.Getenv("JOBSCOPE_SLURMRESTD_USER"),
		socket:    os.Getenv("JOBSCOPE_SLURMRESTD_SOCKET"),
	}
	if c.base == "" || c.restURL == "" || c.tokenFile == "" || c.socket == "" || os.Getenv("SLURM_CONF") == "" {
		t.Fatal("JOBSCOPE_E2E=1 but the cluster's environment is missing: source $SLURMLOCAL_BASE/env.sh (make test-e2e does)")
	}
	return c
}

type exporter struct {
	t    *testing.T
	addr string
	logs *testkit.SyncBuffer
	cmd  *exec.Cmd
	done chan error
}

// startExporter runs `jobscope slurm` on a free loopback port with args added; it is
// stopped (SIGTERM) when the test ends, and its log is shown when the test failed.
func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	e := &exporter{t: t, addr: testkit.FreeAddr(t), logs: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	all := append([]string{"slurm", "--web.listen-address=" + e.addr, "--log.level=debug"}, args...)
	e.cmd = exec.Command(binary, all...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("started jobscope %s", strings.Join(all, " "))
	go func() { e.done <- e.cmd.Wait() }()
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			t.Errorf("jobscope did not stop within 10s of SIGTERM")
			_ = e.cmd.Process.Kill()
			<-e.done
		}
		if t.Failed() {
			t.Logf("jobscope log without DEBUG lines:\n%s", tail(withoutDebug(e.logs.String()), 40))
		}
	})
	return e
}

func withoutDebug(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "level=DEBUG") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// scrape fetches and parses /metrics, and says how long the request took.
func (e *exporter) scrape() (map[string]*dto.MetricFamily, time.Duration, error) {
	select {
	case err := <-e.done:
		e.done <- err
		return nil, 0, fmt.Errorf("jobscope exited: %v", err)
	default:
	}
	start := time.Now()
	body, err := testkit.Fetch("http://" + e.addr + "/metrics")
	took := time.Since(start)
	if err != nil {
		return nil, took, err
	}
	mfs, err := testkit.ParsePage(bytes.NewReader(body))
	return mfs, took, err
}

// eventually calls check with fresh scrapes until it returns nil or timeout passes.
func (e *exporter) eventually(timeout time.Duration, what string, check func(map[string]*dto.MetricFamily) error) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		mfs, _, err := e.scrape()
		if err == nil {
			err = check(mfs)
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// upIs checks jobscope_slurm_up.
func upIs(want float64) func(map[string]*dto.MetricFamily) error {
	return func(mfs map[string]*dto.MetricFamily) error {
		s := series(mfs, "jobscope_slurm_up")
		if len(s) != 1 {
			return fmt.Errorf("jobscope_slurm_up: %d series", len(s))
		}
		for _, v := range s {
			if v != want {
				return fmt.Errorf("jobscope_slurm_up = %v, want %v", v, want)
			}
		}
		return nil
	}
}

// series returns the samples of one family keyed by `{a="x",b="y"}` over the labels named
// (all labels when none are named), so that labels this test does not know about do
// not matter; series that differ only in other labels are added up.
func series(mfs map[string]*dto.MetricFamily, name string, labels ...string) map[string]float64 {
	return seriesWhere(mfs, name, nil, labels...)
}

// seriesWhere is series without the series for which keep (when set) returns false.
func seriesWhere(mfs map[string]*dto.MetricFamily, name string, keep func(map[string]string) bool, labels ...string) map[string]float64 {
	out := map[string]float64{}
	mf := mfs[name]
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if keep != nil && !keep(l) {
			continue
		}
		names := labels
		if len(names) == 0 {
			for k := range l {
				names = append(names, k)
			}
			sort.Strings(names)
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		}
		out[key(l, names...)] += v
	}
	return out
}

// key renders labels as {a="x",b="y"} in the order given.
func key(l map[string]string, names ...string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%q", n, l[n]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
