// Package gpu is the node agent's typed GPU model: Snapshot and Device in
// base units (bytes, watts, joules, hertz, ratios 0..1) keyed by GPU UUID,
// the Backend interface every GPU reader implements, and the Cache that
// shares one reading between the collectors of a scrape.
//
// The backends live beside it, one package each: nvml (go-nvml), dcgm (the
// node's DCGM exporter page) and simulated (demo only); gputest holds the
// go-nvml mocks their tests use. Because every backend fills the same
// Snapshot, the collectors, dashboards and rules never depend on which one
// runs.
//
// May import: the standard library only. No Prometheus code, no other
// jobscope package: the backends and the collectors import this model,
// never the other way round.
package gpu
