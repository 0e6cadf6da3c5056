package exporter

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/promslog"

	"jobscope/collectors"
)

var (
	plainDesc  = prometheus.NewDesc("test_plain", "A plain collector's value.", nil, nil)
	familyDesc = collectors.NewGaugeDesc("test_family", "A FamilyCollector's value.", "node")
)

// newServer serves a plain collector, a FamilyCollector and one that blocks
// until release is closed (entered is signalled when it starts).
func newServer(t *testing.T, maxRequests int, entered chan<- struct{}, release <-chan struct{}) *Server {
	t.Helper()
	set := collectors.NewSet[struct{}]()
	set.Register("plain", true, "", func(struct{}) (collectors.Collector, error) {
		return collectors.CollectorFunc(func(_ context.Context, ch chan<- prometheus.Metric) error {
			collectors.NewEmitter(ch).Gauge(plainDesc, 1)
			return nil
		}), nil
	})
	set.Register("family", true, "", func(struct{}) (collectors.Collector, error) {
		return collectors.FamiliesFunc(func(context.Context) ([]*dto.MetricFamily, error) {
			b := collectors.NewFamilyBuilder()
			b.Add(familyDesc, 2, "n1")
			return b.Build()
		}), nil
	})
	set.Register("slow", false, "", func(struct{}) (collectors.Collector, error) {
		return collectors.FamiliesFunc(func(context.Context) ([]*dto.MetricFamily, error) {
			entered <- struct{}{}
			<-release
			return nil, nil
		}), nil
	})
	if entered != nil {
		if err := set.Enable("slow", true); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	runner, err := set.Build(struct{}{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	path, offset, timeout := "/metrics", 500*time.Millisecond, 10*time.Second
	flags := &Flags{TelemetryPath: &path, MaxRequests: &maxRequests, TimeoutOffset: &offset,
		DefaultTimeout: &timeout, Log: &promslog.Config{}}
	srv, err := New(flags, logger, Config{Name: "test", Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func get(t *testing.T, h http.Handler, target string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestMetricsServesBothKindsOfCollector(t *testing.T) {
	h := newServer(t, 0, nil, nil).Handler()
	resp, body := get(t, h, "/metrics", "Accept-Encoding", "gzip")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	for _, line := range []string{
		"test_plain 1", `test_family{node="n1"} 2`,
		`jobscope_scrape_collector_success{collector="family"} 1`,
		`jobscope_scrape_collector_success{collector="plain"} 1`,
		`jobscope_build_info{`,
	} {
		if !strings.Contains(body, "\n"+line) {
			t.Errorf("missing %s in:\n%s", line, body)
		}
	}

	_, body = get(t, h, "/metrics?exclude[]=plain")
	if strings.Contains(body, "test_plain") || !strings.Contains(body, "test_family") {
		t.Errorf("exclude[]=plain:\n%s", body)
	}
	for _, q := range []string{"collect[]=nope", "collect[]=plain&exclude[]=family", "exclude[]=plain&exclude[]=family"} {
		if resp, _ := get(t, h, "/metrics?"+q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}

// TestMaxRequests: the limit holds across requests (the promhttp handler is
// made per request, so it cannot count them).
func TestMaxRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := newServer(t, 1, entered, release).Handler()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
	}()
	<-entered
	resp, _ := get(t, h, "/metrics")
	close(release)
	<-done
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second request while one runs: status %d, want 503", resp.StatusCode)
	}
}
