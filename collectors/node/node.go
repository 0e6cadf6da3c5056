package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"jobscope/collectors"
	"jobscope/gpu"
	"jobscope/slurm/nodelocal"
	"jobscope/tenancy"
)

// Namespace prefixes every metric of the node command.
const Namespace = "jobscope"

// Paths are the host's filesystems as the agent sees them (--path.*), so a
// container can read the host's /proc, /sys and cgroups.
type Paths struct {
	ProcFS   string // --path.procfs, default /proc
	SysFS    string // --path.sysfs, default /sys
	CgroupFS string // --path.cgroupfs, default /sys/fs/cgroup
	RootFS   string // --path.rootfs, default /
}

// DefaultPaths are the paths of a process running on the host.
var DefaultPaths = Paths{ProcFS: "/proc", SysFS: "/sys", CgroupFS: "/sys/fs/cgroup", RootFS: "/"}

// AddPathFlags adds the --path.* flags to g and returns the Paths they fill
// once parsed.
func AddPathFlags(g collectors.FlagGroup) *Paths {
	p := &Paths{}
	g.Flag("path.procfs", "procfs mount point (the host's /proc in a container).").Default(DefaultPaths.ProcFS).StringVar(&p.ProcFS)
	g.Flag("path.sysfs", "sysfs mount point.").Default(DefaultPaths.SysFS).StringVar(&p.SysFS)
	g.Flag("path.cgroupfs", "cgroup filesystem mount point (v2 root, or the directory holding v1 controllers).").Default(DefaultPaths.CgroupFS).StringVar(&p.CgroupFS)
	g.Flag("path.rootfs", "The host's root filesystem, for files such as the prolog's job files.").Default(DefaultPaths.RootFS).StringVar(&p.RootFS)
	return p
}

// Proc joins elem below ProcFS.
func (p Paths) Proc(elem ...string) string {
	return filepath.Join(append([]string{p.ProcFS}, elem...)...)
}

// Sys joins elem below SysFS.
func (p Paths) Sys(elem ...string) string {
	return filepath.Join(append([]string{p.SysFS}, elem...)...)
}

// Root joins elem below RootFS (host files such as /run/jobscope).
func (p Paths) Root(elem ...string) string {
	return filepath.Join(append([]string{p.RootFS}, elem...)...)
}

// Deps is what every node collector gets.
type Deps struct {
	Paths Paths
	// Jobs returns the Slurm jobs running on this node with their GPUs and
	// start time, as last resolved (cheap: no I/O when called several times
	// within one scrape). Never nil.
	Jobs func() []nodelocal.LocalJob
	// Now is the clock (tests pin it).
	Now func() time.Time
	// Logger is for problems that persist across scrapes (a wrong
	// --path.sysfs), which a collector logs once when its state changes
	// rather than returning them as an error on every scrape. Nil discards.
	Logger *slog.Logger

	// GPUBackend is the --gpu.backend name.
	GPUBackend string
	// GPUs reads every GPU (shared by the collectors of one scrape, see
	// gpu.Cache). An error wrapping gpu.ErrUnavailable means no GPU can be
	// read on this host.
	GPUs func(ctx context.Context) (*gpu.Snapshot, error)
	// Tenancy resolves who holds each GPU (shared like GPUs).
	Tenancy func(ctx context.Context) *tenancy.View

	// Node is what --node.* say (Register fills it from the flags).
	Node NodeConfig
	// Hostname is the host's name; "" reads os.Hostname.
	Hostname string
}

// Register adds every node collector to set and the --node.* flags to
// flags (nil: Deps.Node as given, for tests).
func Register(set *collectors.Set[Deps], flags collectors.FlagGroup) {
	var cfg *NodeConfig
	if flags != nil {
		cfg = AddNodeFlags(flags)
	}
	with := func(newC func(Deps) (collectors.Collector, error)) func(Deps) (collectors.Collector, error) {
		return func(d Deps) (collectors.Collector, error) {
			if cfg != nil {
				d.Node = *cfg
			}
			return newC(d)
		}
	}
	set.Register("node-info", true, "The node's identity: Slurm NodeName, host name, Kubernetes node, Slinky's slurmd pod (jobscope_node_info)", with(newNodeInfoCollector))
	set.Register("gpu-backend", true, "Whether the GPU backend can read the GPUs (jobscope_gpu_backend_up)", with(newBackendCollector))
	set.Register("gpu", true, "Per-GPU inventory, load, power, energy, clocks, throttling, ECC, XID, PCIe and NVLink errors, keyed by GPU UUID", with(newGPUCollector))
	set.Register("gpu-tenants", true, "One join series per GPU naming the Slurm job or Kubernetes pod that holds it", with(newTenantsCollector))
	set.Register("job-energy", true, "Per Slurm job on this node: GPUs held, start time and GPU energy used", with(newJobEnergyCollector))
	set.Register("job-host", true, "Per Slurm job on this node, from its cgroup: CPU seconds, CPUs, memory used, peak and limit, OOM kills", with(newJobHostCollector))
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
