package otlp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is a minimal OTLP/HTTP endpoint: it decodes what it gets, so
// the test checks the pushed metric names and values, not bytes.
type receiver struct {
	mu      sync.Mutex
	metrics map[string]float64
	spans   []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.URL.Path {
	case "/v1/metrics":
		var m colmetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rm := range m.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, metric := range sm.GetMetrics() {
					for _, dp := range metric.GetGauge().GetDataPoints() {
						r.metrics[metric.GetName()] = dp.GetAsDouble()
					}
				}
			}
		}
	case "/v1/traces":
		var tr coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &tr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range tr.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					r.spans = append(r.spans, s.GetName())
				}
			}
		}
	}
	w.WriteHeader(http.StatusOK)
}

func flagsFor(endpoint string) *Flags {
	e, ins, iv, m, tr := endpoint, true, 100*time.Millisecond, true, true
	return &Flags{Endpoint: &e, Insecure: &ins, Interval: &iv, Metrics: &m, Traces: &tr}
}

func TestPushMetricsAndTraces(t *testing.T) {
	recv := &receiver{metrics: map[string]float64{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "jobscope_slurm_up", Help: "test"})
	g.Set(1)
	reg.MustRegister(g)

	f := flagsFor(strings.TrimPrefix(srv.URL, "http://"))
	tel, err := f.Start(context.Background(), "jobscope-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := tel.PushMetrics(context.Background(), reg); err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "slurm.poll")
	span.End()

	deadline := time.Now().Add(10 * time.Second)
	for {
		recv.mu.Lock()
		v, ok := recv.metrics["jobscope_slurm_up"]
		recv.mu.Unlock()
		if ok {
			if v != 1 {
				t.Errorf("jobscope_slurm_up pushed as %v", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no metrics pushed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tel.Shutdown(); err != nil { // flushes the span batch
		t.Fatal(err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.spans) != 1 || recv.spans[0] != "slurm.poll" {
		t.Errorf("spans = %v", recv.spans)
	}
}

func TestOffByDefault(t *testing.T) {
	f := flagsFor("")
	tel, err := f.Start(context.Background(), "x", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := tel.PushMetrics(context.Background(), prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if len(tel.shutdowns) != 0 {
		t.Error("exporters started without an endpoint")
	}
}
