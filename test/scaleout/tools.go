// Package scaleout runs jobscope's scale-out path with the real engines: a
// Prometheus that scrapes jobscope's pages and remote-writes them into a
// single-node VictoriaMetrics, where vmalert evaluates the shipped recording
// and alerting rules; the tests compare what comes back out of
// VictoriaMetrics with what Prometheus computes from the same rules. It
// also measures the series a site has to size for (docs/scale-out.md).
package scaleout

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"jobscope/test/testkit"
)

// tool finds VictoriaMetrics' binaries, which make tools installs with
// go install.
func tool(t testing.TB, name string) string {
	t.Helper()
	return testkit.Tool(t, name, "make tools")
}

// Missing says which of VictoriaMetrics and vmalert cannot be found (""
// when both can), for a test that runs the path only as one part of its
// work and goes on without it.
func Missing() string {
	var out []string
	for _, name := range []string{"victoria-metrics", "vmalert"} {
		if p, msg := testkit.FindTool(name, "make tools"); p == "" {
			out = append(out, msg)
		}
	}
	return strings.Join(out, "; ")
}

// proc is a child process that lives until the test ends; its output is
// shown when the test failed.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *testkit.SyncBuffer
	done chan struct{}
}

func start(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), log: &testkit.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.log.String())
		}
	})
	return p
}

// waitHTTP waits until url answers 200, or fails when the process exits or
// the timeout passes.
func (p *proc) waitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = &statusError{resp.Status}
		} else {
			last = err
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", p.name, p.log.String())
		case <-ctx.Done():
			t.Fatalf("%s: %s not ready after %s: %v", p.name, url, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type statusError struct{ status string }

func (e *statusError) Error() string { return "HTTP " + e.status }
