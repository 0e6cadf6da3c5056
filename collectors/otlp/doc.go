// Package otlp optionally pushes a command's metrics to an OpenTelemetry
// collector (OTLP over HTTP) through the Prometheus bridge, and exports trace
// spans (one per Slurm poll). Both are off unless an endpoint is given, so a
// plain Prometheus deployment pays nothing for them.
//
// It may import client_golang, the OpenTelemetry SDK and exporters, the
// collectors framework and internal/flagvalue; no source.
package otlp
