package promtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"jobscope/test/testkit"
)

// Target is one scrape job: its targets get the job's name as `job` and
// Labels as target labels (e.g. cluster).
type Target struct {
	Job    string
	URLs   []string // http://host:port/path
	Labels map[string]string
}

// Config is what the server scrapes and evaluates.
type Config struct {
	Targets   []Target
	RuleFiles []string
	// Interval is both the scrape and the rule evaluation interval
	// (default 1s, so a test sees data within seconds).
	Interval time.Duration
	// DataDir is the TSDB directory to serve, e.g. blocks made by Backfill
	// (default: an empty one under t.TempDir()). Prometheus writes to it.
	DataDir string
	// RemoteWrite lists the remote_write endpoints every sample is sent to
	// (the scale-out path: VictoriaMetrics, Mimir, Thanos Receive).
	RemoteWrite []RemoteWrite
}

// RemoteWrite is one remote_write endpoint.
type RemoteWrite struct {
	URL string // e.g. http://127.0.0.1:8428/api/v1/write
	// DropNames is a regular expression on metric names that are not sent,
	// e.g. ".+:.+" keeps the recording rules' output local where a ruler
	// downstream evaluates the same rules (two writers of one series
	// otherwise interleave their samples).
	DropNames string
}

// Server is a running Prometheus.
type Server struct {
	URL string
	API v1.API
	cmd *exec.Cmd
	log *testkit.SyncBuffer
}

// Binary returns the prometheus binary's path, or skips the test where it
// is missing (fails under CI, which installs it).
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("prometheus not found in PATH under CI (make deps installs Debian's package): %v", err)
		}
		t.Skipf("prometheus not found in PATH (make deps installs it): %v", err)
	}
	return p
}

// Start writes the configuration, starts Prometheus on a free loopback
// port and waits until it is ready. It is stopped when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := Binary(t)
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(configYAML(cfg)), 0o644); err != nil {
		t.Fatal(err)
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	addr := testkit.FreeAddr(t)
	s := &Server{URL: "http://" + addr, log: &testkit.SyncBuffer{}}
	s.cmd = exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.log.String())
		}
	})
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.API = v1.NewAPI(client)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s: %v\n%s", err, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Backfill turns OpenMetrics text with timestamps (ending in "# EOF") into
// TSDB blocks with promtool, in a new directory it returns for
// Config.DataDir: tests of history (ended jobs, ranges) read a past they
// wrote. Prometheus's default retention (15d) keeps blocks younger than it.
func Backfill(t testing.TB, openMetrics []byte) string {
	t.Helper()
	Binary(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found next to prometheus: %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "backfill.om")
	if err := os.WriteFile(in, openMetrics, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", in, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return data
}

func configYAML(cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", model.Duration(cfg.Interval), model.Duration(cfg.Interval))
	if len(cfg.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range cfg.RuleFiles {
			abs, _ := filepath.Abs(f)
			fmt.Fprintf(&b, "  - %q\n", abs)
		}
	}
	if len(cfg.RemoteWrite) > 0 {
		b.WriteString("remote_write:\n")
		for _, rw := range cfg.RemoteWrite {
			// A batch is sent at least once per interval (default 5s), so a
			// test reads the written samples within seconds.
			fmt.Fprintf(&b, "  - url: %q\n    queue_config:\n      batch_send_deadline: %s\n", rw.URL, model.Duration(cfg.Interval))
			if rw.DropNames != "" {
				fmt.Fprintf(&b, "    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: %q\n        action: drop\n", rw.DropNames)
			}
		}
	}
	b.WriteString("scrape_configs:\n")
	for _, tg := range cfg.Targets {
		fmt.Fprintf(&b, "  - job_name: %q\n    honor_labels: true\n    scrape_timeout: %s\n    static_configs:\n", tg.Job, model.Duration(cfg.Interval))
		for _, u := range tg.URLs {
			// One static config per URL, its path as __metrics_path__: each
			// target may serve its page on a path of its own.
			host, path := splitURL(u)
			fmt.Fprintf(&b, "      - targets: [%q]\n        labels:\n          __metrics_path__: %q\n", host, path)
			keys := make([]string, 0, len(tg.Labels))
			for k := range tg.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "          %s: %q\n", k, tg.Labels[k])
			}
		}
	}
	return b.String()
}

func splitURL(u string) (host, path string) {
	u = strings.TrimPrefix(u, "http://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		return u[:i], u[i:]
	}
	return u, "/metrics"
}

// Query runs an instant query now.
func (s *Server) Query(ctx context.Context, expr string) (model.Vector, error) {
	return query(ctx, s.API, expr)
}

// Client queries another engine's Prometheus-compatible HTTP API
// (VictoriaMetrics, Thanos Query, Mimir's /prometheus), so tests compare
// its answers with Prometheus's through the same client.
type Client struct {
	API v1.API
}

// NewClient returns a client of the API at url (http://host:port).
func NewClient(url string) (*Client, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, err
	}
	return &Client{API: v1.NewAPI(c)}, nil
}

// Query runs an instant query now.
func (c *Client) Query(ctx context.Context, expr string) (model.Vector, error) {
	return query(ctx, c.API, expr)
}

func query(ctx context.Context, a v1.API, expr string) (model.Vector, error) {
	v, warnings, _, err := a.Query(ctx, expr, time.Now())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("query %q: warnings %v", expr, warnings)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %q: want a vector, got %s", expr, v.Type())
	}
	return vec, nil
}

// WaitFor repeats expr until it returns a non-empty vector, or fails the
// test after timeout with the last answer.
func (s *Server) WaitFor(t testing.TB, expr string, timeout time.Duration) model.Vector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		vec, err := s.Query(ctx, expr)
		if err == nil && len(vec) > 0 {
			return vec
		}
		last = err
		if last == nil {
			last = errors.New("empty result")
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: no data after %s: %v", expr, timeout, last)
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// WaitScraped waits until every target of the server has been scraped
// successfully at least once.
func (s *Server) WaitScraped(t testing.TB, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		res, err := s.API.Targets(ctx)
		if err == nil && len(res.Active) > 0 {
			ok := true
			for _, tg := range res.Active {
				if tg.Health != v1.HealthGood {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("targets not all up after %s: %+v %v", timeout, res.Active, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ServePages serves fixed exposition pages (e.g. golden /metrics files) by
// path on a loopback server and returns their URLs in the order given.
func ServePages(t testing.TB, pages map[string][]byte) map[string]string {
	t.Helper()
	mux := http.NewServeMux()
	for path, body := range pages {
		body := body
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write(body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	urls := make(map[string]string, len(pages))
	for path := range pages {
		urls[path] = srv.URL + path
	}
	return urls
}
