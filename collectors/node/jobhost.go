package node

import (
	"context"
	"errors"
	"fmt"

	"jobscope/collectors"
	"jobscope/slurm/nodelocal"
)

// jobHostCollector exports the host side of each Slurm job on this node
// from its job cgroup (nodelocal.HostReader), so rules can tell a GPU idle
// because its job is CPU- or memory-bound. Fields the kernel does not give
// are absent; a job whose cgroup vanished since the walk has no series.
type jobHostCollector struct {
	deps   Deps
	reader *nodelocal.HostReader

	cpuSeconds, cpus                    *collectors.FamilyDesc
	memUsed, memPeak, memLimit, oomKill *collectors.FamilyDesc
}

func newJobHostCollector(d Deps) (collectors.Collector, error) {
	c := &jobHostCollector{
		deps:   d,
		reader: nodelocal.NewHostReader(d.Paths.CgroupFS),
		cpuSeconds: counterDesc("job_cpu_seconds_total",
			"CPU time (user and system) the job's processes used on this node, from its cgroup.", "job_id"),
		cpus: gaugeDesc("job_cpus",
			"CPUs in the job's cpuset on this node.", "job_id"),
		memUsed: gaugeDesc("job_memory_used_bytes",
			"Memory charged to the job's cgroup on this node, page cache included.", "job_id"),
		memPeak: gaugeDesc("job_memory_peak_bytes",
			"Highest memory charged to the job's cgroup on this node (cgroup v2: Linux 5.19 and later).", "job_id"),
		memLimit: gaugeDesc("job_memory_limit_bytes",
			"Memory limit of the job's cgroup on this node; absent when unlimited.", "job_id"),
		oomKill: counterDesc("job_oom_kills_total",
			"Processes of the job the kernel's OOM killer killed on this node (cgroup v1: Linux 4.13 and later).", "job_id"),
	}
	return familyCollector{c.build}, nil
}

func (c *jobHostCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	if c.deps.Tenancy == nil {
		return collectors.ErrNoData
	}
	v := c.deps.Tenancy(ctx)
	var errs []error
	// Without Slurm job discovery (a Kubernetes-only node) there are no
	// jobs and nothing failed, as for the other per-job collectors. A
	// failing cgroup walk is this collector's failure too: its jobs are
	// unknown.
	if cgErr := v.Errors["cgroup"]; cgErr != nil {
		errs = append(errs, fmt.Errorf("job cgroups: %w", cgErr))
	}
	for _, j := range v.Jobs {
		if j.Cgroup == "" {
			continue
		}
		s, err := c.reader.Read(j.Cgroup)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.ID, err))
		}
		if s.CPUSeconds.OK {
			e.Add(c.cpuSeconds, s.CPUSeconds.V, j.ID)
		}
		if s.CPUs.OK {
			e.Add(c.cpus, float64(s.CPUs.V), j.ID)
		}
		gauge := func(d *collectors.FamilyDesc, o nodelocal.Opt[uint64]) {
			if o.OK {
				e.Add(d, float64(o.V), j.ID)
			}
		}
		gauge(c.memUsed, s.MemoryUsed)
		gauge(c.memPeak, s.MemoryPeak)
		gauge(c.memLimit, s.MemoryLimit)
		if s.OOMKills.OK {
			e.Add(c.oomKill, float64(s.OOMKills.V), j.ID)
		}
	}
	return errors.Join(errs...)
}
