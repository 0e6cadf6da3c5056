//go:build !jobscope_nodeonly

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/golden"
	"jobscope/test/testkit"
)

const testToken = "header.payload.signature"

// fakeRestd serves recorded slurmrestd answers from testdata/rest-VERSION.
// It is the boundary the binary talks to; its misbehaviours can be switched
// on at run time to test recovery.
type fakeRestd struct {
	dir     string
	version string
	mu      sync.Mutex
	mode    string // "", "hang", "garbage", "500"
}

func (f *fakeRestd) setMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeRestd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	if r.Header.Get("X-SLURM-USER-TOKEN") != testToken {
		http.Error(w, `{"errors":[{"error":"Authentication failure"}]}`, http.StatusUnauthorized)
		return
	}
	switch mode {
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return
	case "500":
		http.Error(w, `{"errors":[{"error":"slurmctld unavailable","error_number":1007}]}`, http.StatusInternalServerError)
		return
	}
	if r.URL.Path == "/openapi/v3" {
		// Negotiation reads the versioned paths: list one per recorded
		// answer, as slurmrestd lists what it serves (an optional path
		// it does not list, shares, is not asked for).
		files, _ := filepath.Glob(filepath.Join(f.dir, "*.json"))
		var paths []string
		for _, file := range files {
			paths = append(paths, fmt.Sprintf(`"/slurm/%s/%s/":{}`, f.version, strings.TrimSuffix(filepath.Base(file), ".json")))
		}
		fmt.Fprintf(w, `{"openapi":"3.0.2","paths":{%s}}`, strings.Join(paths, ","))
		return
	}
	prefix := "/slurm/" + f.version + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
	body, err := os.ReadFile(filepath.Join(f.dir, name+".json"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if mode == "garbage" {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// startSlurmExporter runs `jobscope slurm` in-process against restd and
// returns its /metrics URL once it listens.
func startSlurmExporter(t *testing.T, restdURL string, extra ...string) string {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startJobscope(t, "slurm", append([]string{
		"--slurm.rest-url=" + restdURL,
		"--slurm.token-file=" + tokenFile,
		"--slurm.poll-interval=1s", // the shortest accepted
		"--slurm.request-timeout=1s",
		"--log.level=error",
	}, extra...)...)
}

func allPolled(mfs map[string]*dto.MetricFamily, resources ...string) bool {
	for _, r := range resources {
		if v, ok := value(mfs, "jobscope_slurm_poll_success", "resource", r); !ok || v != 1 {
			return false
		}
	}
	return true
}

// volatile families change from run to run (timings, process and Go
// runtime state, build details) and are left out of golden pages; they are
// still listed in docs/metrics.md.
var volatile = regexp.MustCompile(`^(go_|process_|promhttp_|jobscope_build_info$|jobscope_scrape_collector_duration_seconds$|jobscope_slurm_poll_duration_seconds$|jobscope_slurm_poll_last_success_timestamp_seconds$)`)

func stablePage(t *testing.T, mfs map[string]*dto.MetricFamily) []byte {
	t.Helper()
	names := make([]string, 0, len(mfs))
	for n := range mfs {
		if !volatile.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	page := make([]*dto.MetricFamily, len(names))
	for i, n := range names {
		page[i] = mfs[n]
	}
	return golden.Text(t, page)
}

func fullPage(t *testing.T, version string, resources []string, extra ...string) map[string]*dto.MetricFamily {
	restd := httptest.NewServer(&fakeRestd{dir: filepath.Join("testdata", "rest-"+version), version: version})
	t.Cleanup(restd.Close)
	url := startSlurmExporter(t, restd.URL, extra...)
	// Wait for a poll that knows the cluster name too: on v0.0.38 it comes
	// from the jobs answer, so the very first poll may not have it yet.
	mfs := waitFor(t, url, func(m map[string]*dto.MetricFamily) bool {
		if !allPolled(m, resources...) {
			return false
		}
		for _, metric := range m["jobscope_slurm_info"].GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "slurm_cluster" && l.GetValue() != "" {
					return true
				}
			}
		}
		return false
	})
	_, body, err := testkit.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	golden.Lint(t, body)
	return mfs
}

func TestSlurmFullPageV0038(t *testing.T) {
	mfs := fullPage(t, "v0.0.38", []string{"ping", "jobs", "nodes", "partitions", "diag"})
	golden.Check(t, filepath.Join("testdata", "slurm-rest-v0.0.38.prom"), stablePage(t, mfs))
	if v, _ := value(mfs, "jobscope_slurm_poll_supported", "resource", "shares"); v != 0 {
		t.Errorf("shares should be unsupported on v0.0.38, got supported=%v", v)
	}
}

func TestSlurmFullPageV0044(t *testing.T) {
	mfs := fullPage(t, "v0.0.44", []string{"ping", "jobs", "nodes", "partitions", "diag", "shares"})
	golden.Check(t, filepath.Join("testdata", "slurm-rest-v0.0.44.prom"), stablePage(t, mfs))
}

// TestSlurmBadServer: every failure mode gives jobscope_slurm_up 0 and a fast scrape,
// other data is kept, and the exporter recovers by itself.
func TestSlurmBadServer(t *testing.T) {
	fake := &fakeRestd{dir: filepath.Join("testdata", "rest-v0.0.38"), version: "v0.0.38"}
	restd := httptest.NewServer(fake)
	defer restd.Close()
	url := startSlurmExporter(t, restd.URL, "--slurm.max-staleness=1h")
	up := func(want float64) func(map[string]*dto.MetricFamily) bool {
		return func(m map[string]*dto.MetricFamily) bool {
			v, ok := value(m, "jobscope_slurm_up")
			return ok && v == want
		}
	}
	waitFor(t, url, up(1))
	for _, mode := range []string{"hang", "garbage", "500"} {
		fake.setMode(mode)
		mfs := waitFor(t, url, up(0))
		start := time.Now()
		if _, _, err := testkit.Scrape(url); err != nil {
			t.Fatalf("%s: scrape failed: %v", mode, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: scrape took %v; it must not wait on slurmrestd", mode, took)
		}
		if _, ok := value(mfs, "jobscope_slurm_node_cpus", "node", "node1"); !ok {
			t.Errorf("%s: last good node data was dropped", mode)
		}
		fake.setMode("")
		waitFor(t, url, up(1))
	}
}

// TestSlurmWrongToken: a rejected token is jobscope_slurm_up 0, not a crash.
func TestSlurmWrongToken(t *testing.T) {
	restd := httptest.NewServer(&fakeRestd{dir: filepath.Join("testdata", "rest-v0.0.38"), version: "v0.0.38"})
	defer restd.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("expired"), 0o600)
	url := startJobscope(t, "slurm", "--slurm.rest-url="+restd.URL,
		"--slurm.token-file="+tokenFile, "--slurm.poll-interval=1s", "--log.level=error")
	waitFor(t, url, func(m map[string]*dto.MetricFamily) bool {
		v, ok := value(m, "jobscope_slurm_poll_success", "resource", "ping")
		d, _ := value(m, "jobscope_slurm_poll_duration_seconds", "resource", "ping")
		return ok && v == 0 && d > 0
	})
	// The token file is re-read: fixing it recovers without a restart.
	os.WriteFile(tokenFile, []byte(testToken), 0o600)
	waitFor(t, url, func(m map[string]*dto.MetricFamily) bool { v, _ := value(m, "jobscope_slurm_up"); return v == 1 })
}

// TestMetricsDoc keeps docs/metrics.md equal to what the slurm command
// emits on the recorded v0.0.38 and generated v0.0.44 clusters.
func TestMetricsDoc(t *testing.T) {
	families := map[string]*dto.MetricFamily{}
	for _, mfs := range []map[string]*dto.MetricFamily{
		fullPage(t, "v0.0.38", []string{"ping", "jobs", "nodes", "partitions", "diag"}),
		fullPage(t, "v0.0.44", []string{"ping", "jobs", "nodes", "partitions", "diag", "shares"}),
	} {
		for n, mf := range mfs {
			if !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") && !strings.HasPrefix(n, "promhttp_") {
				families[n] = mf
			}
		}
	}
	golden.CheckDocSection(t, filepath.Join("..", "..", "docs", "metrics.md"), "jobscope slurm", families)
}

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
