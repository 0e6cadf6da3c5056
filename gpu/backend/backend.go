package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"jobscope/gpu"
	"jobscope/gpu/dcgm"
	"jobscope/gpu/nvml"
	"jobscope/gpu/simulated"
	"jobscope/internal/flagvalue"
)

// Names are the values of --gpu.backend.
var Names = []string{"nvml", "dcgm", "simulated", "none"}

// Flags choose and configure the backend.
type Flags struct {
	name          *string
	dcgmURL       *string
	dcgmMIGUUIDs  *string
	simulatedGPUs *int
	simulatedSeed *string
	cacheAge      *time.Duration
}

// AddFlags registers the --gpu.* and --dcgm.* flags.
func AddFlags(g flagvalue.Group) *Flags {
	return &Flags{
		name: flagvalue.Enum(g.Flag("gpu.backend", "GPU backend: nvml (the driver's library), dcgm (the node's DCGM exporter), simulated (demo only), none.").
			Default("nvml"), Names...),
		dcgmURL: flagvalue.HTTPURL(g.Flag("dcgm.exporter-url", "The node's DCGM exporter page, read by --gpu.backend=dcgm.").
			Default(dcgm.DefaultURL)),
		dcgmMIGUUIDs: flagvalue.Enum(g.Flag("dcgm.mig-uuids", "Where --gpu.backend=dcgm finds the MIG-… UUIDs of MIG instances, which the exporter's page lacks and prolog files and the kubelet use: nvml (the driver's library, when present) or none (MIG instances are <parent UUID>/<GI> and get no tenant).").
			Default("nvml"), "nvml", "none"),
		simulatedGPUs: flagvalue.Positive(g.Flag("gpu.simulated-count", "GPUs of --gpu.backend=simulated.").
			Default("8")),
		simulatedSeed: g.Flag("gpu.simulated-seed", "Seed of --gpu.backend=simulated's UUIDs and readings (default: the host name). Several agents on one host, as in `make demo`, need one each, e.g. the Slurm node name.").
			String(),
		// 0 has a use: every collector reads afresh, which the agent's
		// benchmarks measure; between 0 and 100ms a cache saves nothing.
		cacheAge: flagvalue.DurationOrZero(g.Flag("gpu.cache-age", "Collectors of one scrape share one GPU and tenant reading at most this old (at least 100ms; 0 reads afresh for every collector).").
			Default("2s"), 100*time.Millisecond),
	}
}

// GPUs is the chosen backend behind its cache.
type GPUs struct {
	// Backend is the --gpu.backend name.
	Backend string
	// Snapshot reads every GPU through the shared cache; nil for "none".
	Snapshot func(context.Context) (*gpu.Snapshot, error)
	// MaxAge is --gpu.cache-age, which the tenancy view shares.
	MaxAge time.Duration

	closers []func() error
}

// Build returns the backend the flags describe. A missing driver or
// exporter is no error here: the cache logs it once, and the backend
// retries.
func (f *Flags) Build(logger *slog.Logger) (*GPUs, error) {
	g := &GPUs{Backend: *f.name, MaxAge: *f.cacheAge}
	var b gpu.Backend
	switch *f.name {
	case "nvml":
		// Init is retried every minute; the cache logs its failure once.
		b = nvml.New(nil, nil)
	case "dcgm":
		var opts []dcgm.Option
		if *f.dcgmMIGUUIDs == "nvml" {
			// Asked only once the page shows a MIG instance; without a
			// driver the backend logs once that MIG tenants cannot be joined.
			l := nvml.NewMIGLister(nil)
			g.closers = append(g.closers, l.Close)
			opts = append(opts, dcgm.WithMIGLister(l, logger))
		}
		b = dcgm.New(*f.dcgmURL, nil, opts...)
	case "simulated":
		seed := *f.simulatedSeed
		if seed == "" {
			host, err := os.Hostname()
			if err != nil {
				host = "demo"
			}
			seed = host
		}
		b = simulated.New(*f.simulatedGPUs, seed, nil)
		logger.Warn("simulated GPUs: for demos only")
	case "none":
		return g, nil
	default:
		return nil, fmt.Errorf("unknown --gpu.backend %q", *f.name)
	}
	cache := gpu.NewCache(b, *f.cacheAge, nil)
	cache.LogChanges(logger)
	g.Snapshot = cache.Snapshot
	g.closers = append(g.closers, b.Close)
	return g, nil
}

// probeTimeout bounds the GPU reading taken at start.
const probeTimeout = 10 * time.Second

// Probe takes one reading in the background, so that a backend that cannot
// read the GPUs (no driver, no DCGM exporter at the URL) is logged at
// start, not only at the first scrape; the cache logs it once.
func (g *GPUs) Probe(ctx context.Context) {
	if g.Snapshot == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		_, _ = g.Snapshot(ctx) // logged by the cache
	}()
}

// Close releases the backend (and the MIG lister beside it).
func (g *GPUs) Close() error {
	var errs []error
	for _, c := range g.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}
