//go:build !jobscope_nodeonly

package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobscope/report/reporttest"
)

// runCaptured runs the binary's run() with args and returns its exit code,
// standard output and standard error.
func runCaptured(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	code := run(context.Background(), args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}

// `jobscope report` end to end through kingpin against a real Prometheus
// serving the backfilled fixture: formats, --output, exit codes.
func TestReportCommand(t *testing.T) {
	srv := reporttest.Start(t, reporttest.Now())
	url := "--prometheus.url=" + srv.URL
	dir := t.TempDir()

	code, out, errs := runCaptured(t, "report", url, "4242")
	if code != 0 || !strings.HasPrefix(out, `jobscope report: job 4242 "train-llm"`) || !strings.Contains(out, "XID 79") {
		t.Errorf("text: exit %d, stderr %s\n%s", code, errs, out)
	}

	jsonFile := filepath.Join(dir, "r.json")
	t.Setenv("JOBSCOPE_PROMETHEUS_URL", srv.URL) // the flag's environment variable
	if code, _, errs := runCaptured(t, "report", "--format=json", "--cluster=c1", "-o", jsonFile, "4100"); code != 0 {
		t.Fatalf("json: exit %d: %s", code, errs)
	}
	var r struct {
		SchemaVersion int `json:"schema_version"`
		Job           struct {
			ID      string `json:"id"`
			Running bool   `json:"running"`
		} `json:"job"`
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil || json.Unmarshal(b, &r) != nil || r.SchemaVersion != 1 || r.Job.ID != "4100" || r.Job.Running {
		t.Errorf("json output %s: %v %+v", jsonFile, err, r)
	}

	htmlFile := filepath.Join(dir, "r.html")
	if code, _, errs := runCaptured(t, "report", url, "--format=html", "--output", htmlFile, "4300"); code != 0 {
		t.Fatalf("html: exit %d: %s", code, errs)
	}
	page, _ := os.ReadFile(htmlFile)
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || strings.Contains(string(page), "<script") {
		t.Errorf("html output starts %.60q", page)
	}

	// A failing run leaves an existing --output file as it was.
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"not found", []string{url, "999"}, 1, "jobscope report: job 999 not found in Prometheus at " + srv.URL + " over the last 30d"},
		{"not in cluster", []string{url, "--cluster=c2", "4242"}, 1, `job 4242 not found in Prometheus at ` + srv.URL + ` (cluster "c2") over the last 30d`},
		{"malformed", []string{url, "42x"}, 2, `malformed job ID "42x"`},
		// Bad values are refused when the flags are parsed, naming the flag.
		{"bad lookback", []string{url, "--lookback=soon", "4242"}, 2, `--lookback: "soon": want a duration`},
		{"lookback too short", []string{url, "--lookback=10s", "4242"}, 2, "--lookback: 10s: must be at least 1m0s"},
		{"bad url", []string{"--prometheus.url=prometheus:9090", "4242"}, 2, `--prometheus.url: "prometheus:9090": want an http:// or https:// URL`},
		{"bad url with credentials", []string{"--prometheus.url=ftp://me:secret@prometheus:9090", "4242"}, 2, `"ftp://me:xxxxx@prometheus:9090": want an http:// or https:// URL`},
		{"bad format", []string{url, "--format=pdf", "4242"}, 2, `--format: "pdf" is not one of text, json, html`},
		{"bad timeout", []string{url, "--timeout=0s", "4242"}, 2, "--timeout: 0s: must be positive"},
		{"timeout too short", []string{url, "--timeout=10ms", "4242"}, 2, "--timeout: 10ms: must be at least 1s"},
		{"unreachable", []string{"--prometheus.url=" + closedURL(t), "4242"}, 2, "connection refused"},
		{"credentials hidden", []string{"--prometheus.url=http://me:secret@" + strings.TrimPrefix(closedURL(t), "http://"), "4242"}, 2, "http://me:xxxxx@"},
	}
	for _, c := range cases {
		args := append([]string{"report", "--output", htmlFile}, c.args...)
		code, out, errs := runCaptured(t, args...)
		if code != c.code || !strings.Contains(errs, c.msg) || out != "" {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q), stdout %q", c.name, code, c.code, errs, c.msg, out)
		}
		if strings.Contains(errs, "secret") {
			t.Errorf("%s: the password is in the message: %s", c.name, errs)
		}
		if now, _ := os.ReadFile(htmlFile); string(now) != string(page) {
			t.Errorf("%s: the output file changed", c.name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left in %s: %v", dir, entries)
	}
}

func closedURL(t *testing.T) string {
	s := httptest.NewServer(nil)
	u := s.URL
	s.Close()
	return u
}
