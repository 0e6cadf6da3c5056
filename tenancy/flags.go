package tenancy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"jobscope/gpu"
	"jobscope/internal/flagvalue"
	"jobscope/kubelet"
	"jobscope/slurm/nodelocal"
)

// Flags configure where the resolver looks for tenants: Slurm's node-local
// jobs (--slurm.*) and the kubelet (--kubelet.*).
type Flags struct {
	slurm           *bool
	prologDir       *string
	cgroupWalk      *time.Duration
	kubeletSocket   *string
	slurmdContainer *string
}

// AddFlags registers the tenant sources' flags.
func AddFlags(g flagvalue.Group) *Flags {
	return &Flags{
		slurm: g.Flag("slurm.discovery", "Find the Slurm jobs on this node (prolog files, job cgroups, /proc).").
			Default("true").Bool(),
		prologDir: g.Flag("slurm.prolog-dir", "Directory (below --path.rootfs) where deploy/slurm/jobscope-prolog.sh writes one file per job.").
			Default(nodelocal.DefaultPrologDir).String(),
		// Below a second the walk, the costliest part of a scrape, would run
		// on nearly every scrape.
		cgroupWalk: flagvalue.Duration(g.Flag("slurm.cgroup-walk-interval", "How often the whole cgroup tree is walked for Slurm roots (new slurmd, Slinky pods); scrapes in between only list the known roots. At least 1s.").
			Default("1m"), time.Second),
		kubeletSocket: g.Flag("kubelet.pod-resources-socket", "The kubelet's pod-resources socket; skipped when it does not exist. Empty disables Kubernetes.").
			Default(kubelet.DefaultSocket).String(),
		slurmdContainer: g.Flag("kubelet.slurmd-container", "Container name of Slinky's slurmd: GPUs it holds are attributed to the Slurm jobs inside it. Empty disables.").
			Default("slurmd").String(),
	}
}

// Host are the host's trees as the agent sees them (its --path.* flags).
type Host struct {
	CgroupFS, ProcFS, RootFS string
}

// Build returns the resolver the flags describe over gpus (nil: no GPU
// backend), keeping a view at most maxAge old, and what closes it. A
// missing kubelet socket is logged and leaves Kubernetes off.
func (f *Flags) Build(host Host, gpus func(context.Context) (*gpu.Snapshot, error), maxAge time.Duration, logger *slog.Logger) (*Resolver, func() error) {
	r := &Resolver{GPUs: gpus, SlurmdContainer: *f.slurmdContainer, MaxAge: maxAge}
	if *f.slurm {
		r.Discovery = nodelocal.New(nodelocal.Config{
			CgroupFS:      host.CgroupFS,
			ProcFS:        host.ProcFS,
			PrologDir:     filepath.Join(host.RootFS, *f.prologDir),
			FullWalkEvery: *f.cgroupWalk,
			PIDTTL:        *f.cgroupWalk,
		})
	}
	closeFn := func() error { return nil }
	if sock := *f.kubeletSocket; sock != "" {
		if _, err := os.Stat(sock); err == nil {
			c := kubelet.NewClient(sock)
			r.Kubelet = c
			closeFn = c.Close
		} else {
			logger.Info("no kubelet pod-resources socket; Kubernetes tenants off", "socket", sock, "err", err)
		}
	}
	return r, closeFn
}
