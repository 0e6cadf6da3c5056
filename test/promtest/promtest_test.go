package promtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The harness itself: a real Prometheus scrapes a fixed page with a target
// label and evaluates a recording rule over it.
func TestScrapeAndRule(t *testing.T) {
	urls := ServePages(t, map[string][]byte{
		"/a": []byte("# TYPE jobscope_test_value gauge\njobscope_test_value{x=\"1\"} 2\n"),
	})
	rules := t.TempDir() + "/rules.yml"
	writeFile(t, rules, `groups:
  - name: test
    rules:
      - record: cluster:jobscope_test_value:sum
        expr: sum by (cluster) (jobscope_test_value)
`)
	s := Start(t, Config{
		Targets:   []Target{{Job: "pages", URLs: []string{urls["/a"]}, Labels: map[string]string{"cluster": "c1"}}},
		RuleFiles: []string{rules},
	})
	s.WaitScraped(t, 20*time.Second)
	vec := s.WaitFor(t, `cluster:jobscope_test_value:sum{cluster="c1"}`, 20*time.Second)
	if len(vec) != 1 || vec[0].Value != 2 {
		t.Fatalf("got %v, want one sample of 2", vec)
	}
	// An invalid query is an error, not an empty answer.
	if _, err := s.Query(t.Context(), "sum(("); err == nil {
		t.Fatal("a malformed query gave no error")
	}
}

// remote_write: the endpoint receives Prometheus's writes (snappy-compressed
// protobuf on the URL's path), and the configuration with a drop rule is one
// promtool accepts.
func TestRemoteWrite(t *testing.T) {
	writes := make(chan *http.Request, 64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case writes <- r:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	urls := ServePages(t, map[string][]byte{
		"/a": []byte("# TYPE jobscope_test_value gauge\njobscope_test_value 2\n"),
	})
	cfg := Config{
		Targets:     []Target{{Job: "pages", URLs: []string{urls["/a"]}}},
		RemoteWrite: []RemoteWrite{{URL: recv.URL + "/api/v1/write", DropNames: ".+:.+"}},
		Interval:    time.Second,
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		conf := filepath.Join(t.TempDir(), "prometheus.yml")
		writeFile(t, conf, configYAML(cfg))
		if out, err := exec.Command(promtool, "check", "config", conf).CombinedOutput(); err != nil {
			t.Fatalf("promtool check config: %v\n%s\n%s", err, out, configYAML(cfg))
		}
	}
	Start(t, cfg)
	select {
	case r := <-writes:
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/write" || r.Header.Get("Content-Encoding") != "snappy" {
			t.Fatalf("unexpected write: %s %s Content-Encoding=%q", r.Method, r.URL.Path, r.Header.Get("Content-Encoding"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no remote write within 30s")
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
