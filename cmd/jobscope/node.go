package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"

	jscollectors "jobscope/collectors"
	"jobscope/collectors/exporter"
	"jobscope/collectors/infiniband"
	"jobscope/collectors/node"
	"jobscope/gpu"
	"jobscope/gpu/dcgm"
	"jobscope/gpu/nvml"
	"jobscope/gpu/simulated"
	"jobscope/internal/flagvalue"
	"jobscope/kubelet"
	"jobscope/slurm/nodelocal"
	"jobscope/tenancy"
)

// nodeFlags are the node command's own flags.
type nodeFlags struct {
	paths           node.Paths
	backend         string
	dcgmURL         string
	dcgmMIGUUIDs    *string
	simulatedGPUs   int
	simulatedSeed   string
	slurm           bool
	prologDir       string
	cgroupWalk      time.Duration
	kubeletSocket   string
	slurmdContainer string
	cacheAge        time.Duration
}

// nodeCommand is `jobscope node`: one per GPU node (DaemonSet or systemd).
func nodeCommand(app *kingpin.Application) (string, func(context.Context) error) {
	cmd := app.Command("node", "Export every GPU of this node keyed by UUID, which Slurm job or Kubernetes pod holds it, and per-job node-local counters.")
	web := exporter.AddFlags(cmd, ":9851")
	f := &nodeFlags{}
	cmd.Flag("path.procfs", "procfs mount point (the host's /proc in a container).").Default(node.DefaultPaths.ProcFS).StringVar(&f.paths.ProcFS)
	cmd.Flag("path.sysfs", "sysfs mount point.").Default(node.DefaultPaths.SysFS).StringVar(&f.paths.SysFS)
	cmd.Flag("path.cgroupfs", "cgroup filesystem mount point (v2 root, or the directory holding v1 controllers).").Default(node.DefaultPaths.CgroupFS).StringVar(&f.paths.CgroupFS)
	cmd.Flag("path.rootfs", "The host's root filesystem, for files such as the prolog's job files.").Default(node.DefaultPaths.RootFS).StringVar(&f.paths.RootFS)
	cmd.Flag("gpu.backend", "GPU backend: nvml (the driver's library), dcgm (the node's DCGM exporter), simulated (demo only), none.").
		Default("nvml").EnumVar(&f.backend, "nvml", "dcgm", "simulated", "none")
	cmd.Flag("dcgm.exporter-url", "The node's DCGM exporter page, read by --gpu.backend=dcgm.").Default(dcgm.DefaultURL).StringVar(&f.dcgmURL)
	f.dcgmMIGUUIDs = flagvalue.Enum(cmd.Flag("dcgm.mig-uuids", "Where --gpu.backend=dcgm finds the MIG-… UUIDs of MIG instances, which the exporter's page lacks and prolog files and the kubelet use: nvml (the driver's library, when present) or none (MIG instances are <parent UUID>/<GI> and get no tenant).").
		Default("nvml"), "nvml", "none")
	cmd.Flag("gpu.simulated-count", "GPUs of --gpu.backend=simulated.").Default("8").IntVar(&f.simulatedGPUs)
	cmd.Flag("gpu.simulated-seed", "Seed of --gpu.backend=simulated's UUIDs and readings (default: the host name). Several agents on one host, as in `make demo`, need one each, e.g. the Slurm node name.").
		StringVar(&f.simulatedSeed)
	cmd.Flag("gpu.cache-age", "Collectors of one scrape share one GPU and tenant reading at most this old.").Default("2s").DurationVar(&f.cacheAge)
	cmd.Flag("slurm.discovery", "Find the Slurm jobs on this node (prolog files, job cgroups, /proc).").Default("true").BoolVar(&f.slurm)
	cmd.Flag("slurm.prolog-dir", "Directory (below --path.rootfs) where deploy/slurm/jobscope-prolog.sh writes one file per job.").
		Default(nodelocal.DefaultPrologDir).StringVar(&f.prologDir)
	cmd.Flag("slurm.cgroup-walk-interval", "How often the whole cgroup tree is walked for Slurm roots (new slurmd, Slinky pods); scrapes in between only list the known roots.").
		Default("1m").DurationVar(&f.cgroupWalk)
	cmd.Flag("kubelet.pod-resources-socket", "The kubelet's pod-resources socket; skipped when it does not exist. Empty disables Kubernetes.").
		Default(kubelet.DefaultSocket).StringVar(&f.kubeletSocket)
	cmd.Flag("kubelet.slurmd-container", "Container name of Slinky's slurmd: GPUs it holds are attributed to the Slurm jobs inside it. Empty disables.").
		Default("slurmd").StringVar(&f.slurmdContainer)

	set := jscollectors.NewSet[node.Deps]()
	node.Register(set, cmd)
	// InfiniBand ports and per-job traffic (issue 4) share the node's Deps.
	infiniband.Register(set, cmd)
	set.AddFlags(cmd)

	return cmd.FullCommand(), func(ctx context.Context) error {
		logger := web.Logger()
		deps, closeFn, err := buildNodeDeps(f, logger)
		if err != nil {
			return err
		}
		defer closeFn()
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
		})
		if err != nil {
			return err
		}
		logger.Info("starting jobscope node", "gpu_backend", f.backend)
		if deps.GPUs != nil {
			// One reading now, so that a backend that cannot read the GPUs
			// (no driver, no DCGM exporter at the URL) is logged at start,
			// not only at the first scrape; the cache logs it once.
			go func() {
				probe, cancel := context.WithTimeout(ctx, gpuProbeTimeout)
				defer cancel()
				_, _ = deps.GPUs(probe) // logged by the cache
			}()
		}
		if err := srv.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("serving: %w", err)
		}
		return nil
	}
}

// gpuProbeTimeout bounds the GPU reading taken at start.
const gpuProbeTimeout = 10 * time.Second

// buildNodeDeps turns flags into the collectors' Deps. A missing GPU driver
// or kubelet is logged once and leaves the agent serving the rest.
func buildNodeDeps(f *nodeFlags, logger *slog.Logger) (node.Deps, func(), error) {
	deps := node.Deps{Paths: f.paths, GPUBackend: f.backend, Logger: logger}
	var closers []func() error
	var backend gpu.Backend
	switch f.backend {
	case "nvml":
		// Init is retried every minute; the cache logs its failure once.
		backend = nvml.New(nil, nil)
	case "dcgm":
		// A URL that cannot work is refused at start, naming the flag; an
		// exporter that is down is only unavailable (and retried).
		if u, err := url.Parse(f.dcgmURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return deps, nil, fmt.Errorf("--dcgm.exporter-url=%q: want an http:// or https:// URL with a host", f.dcgmURL)
		}
		var opts []dcgm.Option
		if *f.dcgmMIGUUIDs == "nvml" {
			// Asked only once the page shows a MIG instance; without a
			// driver the backend logs once that MIG tenants cannot be joined.
			l := nvml.NewMIGLister(nil)
			closers = append(closers, l.Close)
			opts = append(opts, dcgm.WithMIGLister(l, logger))
		}
		backend = dcgm.New(f.dcgmURL, nil, opts...)
	case "simulated":
		seed := f.simulatedSeed
		if seed == "" {
			host, err := os.Hostname()
			if err != nil {
				host = "demo"
			}
			seed = host
		}
		backend = simulated.New(f.simulatedGPUs, seed, nil)
		logger.Warn("simulated GPUs: for demos only")
	case "none":
	default:
		return deps, nil, fmt.Errorf("unknown --gpu.backend %q", f.backend)
	}
	if backend != nil {
		cache := gpu.NewCache(backend, f.cacheAge, nil)
		cache.LogChanges(logger)
		deps.GPUs = cache.Snapshot
		closers = append(closers, backend.Close)
	}

	r := &tenancy.Resolver{GPUs: deps.GPUs, SlurmdContainer: f.slurmdContainer, MaxAge: f.cacheAge}
	if f.slurm {
		r.Discovery = nodelocal.New(nodelocal.Config{
			CgroupFS:      f.paths.CgroupFS,
			ProcFS:        f.paths.ProcFS,
			PrologDir:     f.paths.Root(f.prologDir),
			FullWalkEvery: f.cgroupWalk,
			PIDTTL:        f.cgroupWalk,
		})
	}
	if f.kubeletSocket != "" {
		if _, err := os.Stat(f.kubeletSocket); err == nil {
			c := kubelet.NewClient(f.kubeletSocket)
			r.Kubelet = c
			closers = append(closers, c.Close)
		} else {
			logger.Info("no kubelet pod-resources socket; Kubernetes tenants off", "socket", f.kubeletSocket, "err", err)
		}
	}
	deps.Tenancy = r.Resolve
	deps.Jobs = r.Jobs
	return deps, func() {
		for _, c := range closers {
			if err := c(); err != nil {
				logger.Warn("closing", "err", err)
			}
		}
	}, nil
}
