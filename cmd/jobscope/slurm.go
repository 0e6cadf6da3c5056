//go:build !jobscope_nodeonly

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	jscollectors "jobscope/collectors"
	"jobscope/collectors/exporter"
	"jobscope/collectors/otlp"
	slurmcollectors "jobscope/collectors/slurm"
	"jobscope/internal/memlimit"
	"jobscope/slurm/poller"
	"jobscope/slurm/source"
)

// slurmCommand is `jobscope slurm`: one per cluster. It polls slurmctld in
// the background and serves the latest snapshot on every scrape.
func slurmCommand(app *kingpin.Application) (string, func(context.Context) error) {
	cmd := app.Command("slurm", "Export the state of one Slurm cluster: jobs, nodes, partitions, scheduler, fairshare, GPU allocation.")
	web := exporter.AddFlags(cmd, ":9850")
	src := source.AddFlags(cmd)
	poll := poller.AddFlags(cmd)
	staleness := slurmcollectors.AddFlags(cmd)
	telemetry := otlp.AddFlags(cmd)
	memLimit := memlimit.AddFlags(cmd)
	set := jscollectors.NewSet[slurmcollectors.Deps]()
	slurmcollectors.Register(set)
	set.AddFlags(cmd)
	cmd.Validate(func(*kingpin.CmdClause) error {
		// Withdrawn before the next poll could refresh them, every
		// resource's series would flap.
		if *staleness != 0 && *staleness < *poll.Interval {
			return fmt.Errorf("--slurm.max-staleness: %s is shorter than --slurm.poll-interval (%s)", staleness, poll.Interval)
		}
		return nil
	})

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
		memLimit.Apply(logger)
		source, err := src.Build(logger)
		if err != nil {
			return err
		}
		tel, err := telemetry.Start(ctx, "jobscope-slurm", logger)
		if err != nil {
			return err
		}
		defer func() {
			if err := tel.Shutdown(); err != nil {
				logger.Warn("OTLP shutdown", "err", err)
			}
		}()

		p := poller.New(source, *poll.Interval, logger, poller.Options{
			Timeout:        *poll.Timeout,
			TracerProvider: tel.TracerProvider,
		})
		runner, err := set.Build(slurmcollectors.Deps{Snapshot: p.Snapshot, MaxStaleness: *staleness}, logger)
		if err != nil {
			return err
		}
		static := []prometheus.Collector{
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		}
		srv, err := exporter.New(web, logger, exporter.Config{
			Name:        "jobscope slurm",
			Description: "Slurm cluster exporter: jobs, nodes, partitions, scheduler, fairshare and per-job GPU allocation",
			Runner:      runner,
			Static:      static,
			Ready: func() error {
				if snap := p.Snapshot(); snap.Taken.IsZero() {
					return errors.New("no poll has completed yet")
				}
				return nil
			},
			Listeners: listeners,
		})
		if err != nil {
			return err
		}
		if err := tel.PushMetrics(ctx, otlp.RunnerGatherer(runner, 10*time.Second, static...)); err != nil {
			return err
		}
		logger.Info("starting jobscope slurm", "slurm_source", source.Name(), "poll_interval", poll.Interval.String())

		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { p.Run(ctx); return nil })
		// The collectors build their families, and the encoded (gzipped)
		// page part scrapes ask for, once per snapshot; build them right
		// after each poll instead of in the first scrape after it. The
		// check comes every 50 ms, not every second: a scrape that reaches
		// a new snapshot before Prebuild has started builds every
		// collector's families at once, held together until the page is
		// written, which at 100k jobs made the RSS peak up to 13 MiB higher
		// (docs/performance.md, "Resident memory over polls and scrapes");
		// 20 atomic loads a second cost nothing.
		g.Go(func() error {
			slurmcollectors.Prebuild(ctx, runner, p.Snapshot, 50*time.Millisecond, *poll.Interval)
			return nil
		})
		g.Go(func() error { return srv.Serve(ctx) })
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("serving: %w", err)
		}
		return nil
	}
}
