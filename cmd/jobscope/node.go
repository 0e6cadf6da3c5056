package main

import (
	"context"
	"errors"
	"fmt"

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
