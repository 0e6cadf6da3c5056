// Package scaleout runs jobscope's scale-out path with the real engines: a
// Prometheus that scrapes jobscope's pages and remote-writes them into a
// single-node VictoriaMetrics, where vmalert evaluates the shipped recording
// and alerting rules; the tests compare what comes back out of
// VictoriaMetrics with what Prometheus computes from the same rules. It
// also measures the series a site has to size for (docs/scale-out.md).
package scaleout

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobscope/test/testkit"
)

// tool finds a binary `make tools` installs (go install puts it in
// $(go env GOBIN) or $(go env GOPATH)/bin, often not in PATH), or skips
// the test where it is missing; under CI, which runs make deps, it fails.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, msg := findTool(name)
	if p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI must run make deps")
	}
	t.Skip(msg)
	return ""
}

// Missing says which of VictoriaMetrics and vmalert cannot be found (""
// when both can), for a test that runs the path only as one part of its
// work and goes on without it.
func Missing() string {
	var out []string
	for _, name := range []string{"victoria-metrics", "vmalert"} {
		if p, msg := findTool(name); p == "" {
			out = append(out, msg)
		}
	}
	return strings.Join(out, "; ")
}

// findTool returns the binary's path, or "" and why it is missing.
func findTool(name string) (string, string) {
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && lines[0] != "" {
			dirs = append(dirs, lines[0])
		}
		if len(lines) > 1 {
			for _, p := range filepath.SplitList(lines[1]) {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, ""
		}
	}
	return "", name + " not found in PATH nor in " + strings.Join(dirs, ", ") + " (make tools installs VictoriaMetrics and vmalert)"
}

// freeAddr returns a loopback address no one listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
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
