package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	promBridge "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"jobscope/collectors"
	"jobscope/internal/flagvalue"
)

// Flags are the OTLP flags of one command.
type Flags struct {
	Endpoint *string
	Insecure *bool
	Interval *time.Duration
	Metrics  *bool
	Traces   *bool
}

// AddFlags registers the OTLP flags on a command.
func AddFlags(cmd flagvalue.Group) *Flags {
	return &Flags{
		Endpoint: cmd.Flag("otlp.endpoint", "OTLP/HTTP endpoint (host:port) to push metrics and traces to; empty disables OTLP.").
			Default("").String(),
		Insecure: cmd.Flag("otlp.insecure", "Use plain HTTP instead of HTTPS for the OTLP endpoint.").
			Default("false").Bool(),
		Interval: flagvalue.Duration(cmd.Flag("otlp.interval", "How often metrics are pushed over OTLP. At least 1s.").
			Default("60s"), time.Second),
		Metrics: cmd.Flag("otlp.metrics", "Push the same metrics /metrics serves over OTLP.").
			Default("true").Bool(),
		Traces: cmd.Flag("otlp.traces", "Export a trace span per Slurm poll with the timing of each request.").
			Default("false").Bool(),
	}
}

// Telemetry holds what Start set up.
type Telemetry struct {
	// TracerProvider is a no-op provider unless traces are on.
	TracerProvider trace.TracerProvider
	flags          *Flags
	res            *resource.Resource
	shutdowns      []func(context.Context) error
}

// Start sets up trace export; PushMetrics then adds metric push once the
// command's collectors exist.
func (f *Flags) Start(ctx context.Context, service string, logger *slog.Logger) (*Telemetry, error) {
	t := &Telemetry{TracerProvider: noop.NewTracerProvider(), flags: f}
	if *f.Endpoint == "" {
		return t, nil
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	t.res = res
	logger.Info("OTLP export enabled", "endpoint", *f.Endpoint, "metrics", *f.Metrics, "traces", *f.Traces)

	if *f.Traces {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(*f.Endpoint)}
		if *f.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.TracerProvider = tp
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
	}

	return t, nil
}

// PushMetrics pushes what gather returns every --otlp.interval, when OTLP
// metrics are on.
func (t *Telemetry) PushMetrics(ctx context.Context, gather prometheus.Gatherer) error {
	f := t.flags
	if *f.Endpoint == "" || !*f.Metrics {
		return nil
	}
	opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(*f.Endpoint)}
	if *f.Insecure {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	}
	exp, err := otlpmetrichttp.New(ctx, opts...)
	if err != nil {
		return fmt.Errorf("OTLP metric exporter: %w", err)
	}
	reader := sdkmetric.NewPeriodicReader(exp,
		sdkmetric.WithInterval(*f.Interval),
		sdkmetric.WithProducer(promBridge.NewMetricProducer(promBridge.WithGatherer(gather))))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(t.res))
	t.shutdowns = append(t.shutdowns, mp.Shutdown)
	return nil
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range t.shutdowns {
		errs = append(errs, s(ctx))
	}
	return errors.Join(errs...)
}

// RunnerGatherer gathers a Runner's collectors as one scrape would, with
// timeout as the deadline, plus the static collectors. It uses the same fast
// path as /metrics, so families cached per Slurm snapshot are pushed as they
// are instead of being rebuilt metric by metric.
func RunnerGatherer(r *collectors.Runner, timeout time.Duration, static ...prometheus.Collector) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		g, err := r.Gatherer(ctx, static)
		if err != nil {
			return nil, err
		}
		return g.Gather()
	})
}
