package exporter

import (
	"bytes"
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
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/promslog"
	"google.golang.org/protobuf/proto"

	"jobscope/collectors"
	"jobscope/test/testkit"
)

var (
	plainDesc = prometheus.NewDesc("test_plain", "A plain collector's value.", nil, nil)
	setDesc   = collectors.NewGaugeDesc("test_set", "A FamilySetCollector's value.", "node")
)

// newServer serves a plain collector, a FamilySetCollector and one that blocks until release is closed (entered
// is signalled when it starts).
func newServer(t *testing.T, maxRequests int, entered chan<- struct{}, release <-chan struct{}) *Server {
	t.Helper()
	set := collectors.NewSet[struct{}]()
	set.Register("plain", true, "", func(struct{}) (collectors.Collector, error) {
		return collectors.CollectorFunc(func(_ context.Context, ch chan<- prometheus.Metric) error {
			collectors.NewEmitter(ch).Gauge(plainDesc, 1)
			return nil
		}), nil
	})
	set.Register("set", true, "", func(struct{}) (collectors.Collector, error) {
		b := collectors.NewFamilyBuilder()
		for _, node := range []string{"n1", "n2", "n3"} {
			b.Add(setDesc, 3, node)
		}
		mfs, err := b.Build()
		fs := collectors.NewFamilySet(mfs)
		return collectors.FamilySetFunc(func(context.Context) (*collectors.FamilySet, error) { return fs, nil }), err
	})
	set.Register("slow", false, "", func(struct{}) (collectors.Collector, error) {
		return collectors.FamilySetFunc(func(context.Context) (*collectors.FamilySet, error) {
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
		"test_plain 1", `test_set{node="n2"} 3`,
		`jobscope_scrape_collector_success{collector="set"} 1`,
		`jobscope_scrape_collector_success{collector="plain"} 1`,
		`jobscope_build_info{`,
	} {
		if !strings.Contains(body, "\n"+line) {
			t.Errorf("missing %s in:\n%s", line, body)
		}
	}

	_, body = get(t, h, "/metrics?exclude[]=plain")
	if strings.Contains(body, "test_plain") || !strings.Contains(body, "test_set") {
		t.Errorf("exclude[]=plain:\n%s", body)
	}
	for _, q := range []string{"collect[]=nope", "collect[]=plain&exclude[]=set", "exclude[]=plain&exclude[]=set"} {
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

// TestCachedPageEqualsPromhttp: the page written from FamilySets' cached
// encoding (several gzip members when compressed) decodes, as Prometheus
// decodes it, to the page promhttp encodes from the merged families, in
// both formats Prometheus negotiates, plain and gzip.
func TestCachedPageEqualsPromhttp(t *testing.T) {
	srv := newServer(t, 0, nil, nil)
	h := srv.Handler()
	promhttpPage := func(accept string) []byte {
		g, err := srv.runner.Gatherer(context.Background(), srv.static)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
		return normalise(t, rec.Result().Header.Get("Content-Type"), rec.Body)
	}
	for _, accept := range []string{
		"text/plain;version=0.0.4;q=0.9,*/*;q=0.1",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,*/*;q=0.1",
	} {
		want := promhttpPage(accept)
		for _, encoding := range []string{"", "gzip"} {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("Accept-Encoding", encoding)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			resp := rec.Result()
			if got := resp.Header.Get("Content-Encoding"); got != encoding {
				t.Errorf("%s, Accept-Encoding %q: Content-Encoding %q", accept, encoding, got)
			}
			var body io.Reader = resp.Body
			if encoding == "gzip" {
				raw, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				// The first member is the part gathered for this scrape,
				// the set's cached member follows.
				first, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				first.Multistream(false)
				head, err := io.ReadAll(first)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(head, []byte("test_set")) || !bytes.Contains(head, []byte("test_plain")) {
					t.Errorf("%s: first gzip member is not the fresh part:\n%q", accept, head)
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			if got := normalise(t, resp.Header.Get("Content-Type"), body); !bytes.Equal(got, want) {
				t.Errorf("%s, Accept-Encoding %q: page\n%s\ndiffers from promhttp's:\n%s", accept, encoding, got, want)
			}
		}
	}
}

// normalise decodes a page of the given Content-Type and encodes it as
// text, sorted by name, with the scrape durations zeroed.
func normalise(t *testing.T, contentType string, r io.Reader) []byte {
	t.Helper()
	mfs, err := testkit.DecodePage(r, expfmt.Format(contentType))
	if err != nil {
		t.Fatalf("%s: %v", contentType, err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() == "jobscope_scrape_collector_duration_seconds" {
			for _, m := range mf.GetMetric() {
				m.GetGauge().Value = proto.Float64(0)
			}
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestAcceptsGzip: compression is negotiated as promhttp negotiates it
// between identity and gzip.
func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                          false,
		"gzip":                      true,
		"gzip, deflate, br":         true,
		"GZIP;q=0.5":                true,
		"gzip;q=0":                  false,
		"*":                         false, // identity is offered first
		"identity;q=0.5, gzip":      true,
		"gzip;q=0.5, identity":      false,
		"identity;q=0, *;q=0.1":     false, // as promhttp: * gives identity 0.1 too
		"deflate":                   false,
		"gzip;q=0.8, *;q=0.9":       false,
		"x-gzip, gzip; q=1.0, br":   true,
		"identity;q=0.9, gzip;q=.1": false,
	} {
		h := http.Header{}
		if header != "" {
			h.Set("Accept-Encoding", header)
		}
		if got := acceptsGzip(h); got != want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", header, got, want)
		}
	}
}

// TestScrapeTimeout: a scrape's deadline is the timeout Prometheus sends
// (X-Prometheus-Scrape-Timeout-Seconds) less --web.timeout-offset (500ms
// here), or --web.scrape-timeout (10s here) when the request names none
// or names one that is no duration: a value that overflowed a
// time.Duration gave a deadline already past, and every collector was
// abandoned at once.
func TestScrapeTimeout(t *testing.T) {
	s := newServer(t, 0, nil, nil)
	for header, want := range map[string]time.Duration{
		"":      10 * time.Second,
		"10":    9500 * time.Millisecond,
		"120":   119500 * time.Millisecond, // longer than the default: Prometheus' own wins
		"0.25":  250 * time.Millisecond,    // not over the offset: kept whole
		"0":     10 * time.Second,
		"-1":    10 * time.Second,
		"ten":   10 * time.Second,
		"NaN":   10 * time.Second,
		"+Inf":  10 * time.Second,
		"1e300": 10 * time.Second,
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if header != "" {
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
		}
		if got := s.scrapeTimeout(req); got != want {
			t.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q: deadline %s, want %s", header, got, want)
		}
	}
}
