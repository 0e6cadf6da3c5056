// Package exporter serves a collectors.Runner over HTTP the way every
// Prometheus exporter does: exporter-toolkit for listeners, TLS and basic
// auth (--web.config.file), a landing page, /metrics with the scrape's
// deadline passed down to the collectors, and health endpoints.
//
// It may import client_golang, exporter-toolkit, the collectors framework
// and internal/flagvalue; no source.
package exporter
