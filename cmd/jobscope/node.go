package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"

	jscollectors "jobscope/collectors"
	"jobscope/collectors/exporter"
	"jobscope/collectors/infiniband"
	"jobscope/collectors/node"
	"jobscope/gpu/backend"
	"jobscope/tenancy"
)

// nodeCommand is `jobscope node`: one per GPU node (DaemonSet or systemd).
func nodeCommand(app *kingpin.Application) (string, func(context.Context) error) {
	cmd := app.Command("node", "Export every GPU of this node keyed by UUID, which Slurm job or Kubernetes pod holds it, and per-job node-local counters.")
	web := exporter.AddFlags(cmd, ":9851")
	paths := node.AddPathFlags(cmd)
	gpuFlags := backend.AddFlags(cmd)
	tenantFlags := tenancy.AddFlags(cmd)
	set := jscollectors.NewSet[node.Deps]()
	node.Register(set, cmd)
	// InfiniBand ports and per-job traffic share the node's Deps: the jobs
	// tenancy found and the host paths.
	infiniband.Register(set, cmd)
	set.AddFlags(cmd)

	return cmd.FullCommand(), func(ctx context.Context) error {
		logger := web.Logger()
		if gogc, ok := nodeGCPercent(os.Getenv); ok {
			// Restored on return for the in-process tests.
			defer debug.SetGCPercent(debug.SetGCPercent(gogc))
		}
		// Bound first: an address in use is the one error to report.
		listeners, err := web.Listen(logger)
		if err != nil {
			return err
		}
		// Serve closes them when it returns; this is for the returns before
		// it (a second Close only returns an error nobody needs).
		defer closeListeners(listeners)
		gpus, err := gpuFlags.Build(logger)
		if err != nil {
			return err
		}
		resolver, closeResolver := tenantFlags.Build(
			tenancy.Host{CgroupFS: paths.CgroupFS, ProcFS: paths.ProcFS, RootFS: paths.RootFS},
			gpus.Snapshot, gpus.MaxAge, logger)
		defer func() {
			if err := errors.Join(closeResolver(), gpus.Close()); err != nil {
				logger.Warn("closing", "err", err)
			}
		}()
		deps := node.Deps{
			Paths:      *paths,
			GPUBackend: gpus.Backend,
			GPUs:       gpus.Snapshot,
			Tenancy:    resolver.Resolve,
			Jobs:       resolver.Jobs,
			Logger:     logger,
		}
		runner, err := set.Build(deps, logger)
		if err != nil {
			return err
		}
		srv, err := exporter.New(web, logger, exporter.Config{
			Name:        "jobscope node",
			Description: "GPU node agent: per-GPU telemetry, which job or pod holds each GPU, per-job energy",
			Runner:      runner,
			Static: []prometheus.Collector{
				promcollectors.NewGoCollector(),
				promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}),
			},
			Listeners: listeners,
		})
		if err != nil {
			return err
		}
		logger.Info("starting jobscope node", "gpu_backend", gpus.Backend)
		gpus.Probe(ctx)
		if err := srv.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("serving: %w", err)
		}
		return nil
	}
}

// agentGOGC is the GC target of `jobscope node` (GOGC=50: collect when the
// heap has grown by half of what is live, not doubled). The agent keeps
// about 2 MB live (1.2 MB of it the idle gzip compressor), and its
// resident anonymous memory follows the heap target, not the live heap:
// the runtime keeps about 1.1 times the target. At Go's default of 100
// the target was 5-6.5 MB over 300 scrapes and RssAnon 7.7-9.4 MB; at 50
// the target is 3.9-4.1 MB and RssAnon 6.3-6.5 MB, for 0.1-0.25 ms more GC
// CPU per scrape (docs/performance.md, BenchmarkNodeRSS and
// BenchmarkNodeScrape's gc-cpu-ns/op). Every GPU node runs one agent, so
// its memory is what the issue-12 budget (25 MB) counts.
const agentGOGC = 50

// nodeGCPercent is the GC target the node command sets, and whether it
// sets one: not when the environment sets GOGC or GOMEMLIMIT (an operator
// tuning the GC gets exactly Go's behaviour for what they set; the
// runtime has applied it already).
func nodeGCPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return agentGOGC, true
}
