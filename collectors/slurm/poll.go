package slurm

import (
	"errors"
	"slices"

	"jobscope/collectors"
	"jobscope/slurm"
)

type pollCollector struct {
	up           *collectors.FamilyDesc
	info         *collectors.FamilyDesc
	controllerUp *collectors.FamilyDesc
	success      *collectors.FamilyDesc
	duration     *collectors.FamilyDesc
	lastSuccess  *collectors.FamilyDesc
	supported    *collectors.FamilyDesc
}

func newPollCollector(d Deps) (collectors.Collector, error) {
	c := &pollCollector{
		up: desc("", "up",
			"Whether the last poll reached slurmctld and read its controller info, jobs, nodes and partitions (1) or not (0)."),
		info: desc("", "info",
			"Slurm release, API version in use, Slurm's own ClusterName (the cluster label is the scrape config's) and source of the data.",
			"release", "api_version", "slurm_cluster", "source"),
		controllerUp: desc("controller", "up",
			"Whether each slurmctld answered the last ping (1) or not (0).", "controller", "mode"),
		success: desc("poll", "success",
			"Whether the last fetch of a resource from Slurm succeeded (1) or not (0).", "resource"),
		duration: desc("poll", "duration_seconds",
			"How long the last fetch of a resource from Slurm took.", "resource"),
		lastSuccess: desc("poll", "last_success_timestamp_seconds",
			"When a resource was last fetched successfully, as a Unix time.", "resource"),
		supported: desc("poll", "supported",
			"Whether this Slurm can give a resource at all (0 e.g. for fairshare without slurmdbd).", "resource"),
	}
	return newSnapshotCollector(d, c.build, ResourceInfo), nil
}

// coreResources must all succeed for jobscope_slurm_up to be 1; diag and shares are
// reported on their own and do not make the cluster look down.
var coreResources = []slurm.Resource{ResourceInfo, ResourceJobs, ResourceNodes, ResourcePartitions}

func (c *pollCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {

	up := 1.0
	for _, r := range coreResources {
		if st, ok := snap.Resources[r]; !ok || !st.OK {
			up = 0
		}
	}
	b.Add(c.up, up)
	if fresh(ResourceInfo) {
		b.Add(c.info, 1, snap.Info.Release, snap.Info.APIVersion, snap.Info.Cluster, snap.Source)
		for _, ctl := range snap.Info.Controllers {
			mode := "backup"
			if ctl.Primary {
				mode = "primary"
			}
			v := 0.0
			if ctl.Up {
				v = 1
			}
			b.Add(c.controllerUp, v, ctl.Hostname, mode)
		}
	}

	names := make([]slurm.Resource, 0, len(snap.Resources))
	for r := range snap.Resources {
		names = append(names, r)
	}
	slices.Sort(names)
	for _, r := range names {
		st := snap.Resources[r]
		label := string(r)
		ok, supported := 0.0, 1.0
		if st.OK {
			ok = 1
		}
		if errors.Is(st.Err, slurm.ErrNotSupported) {
			supported = 0
		}
		b.Add(c.success, ok, label)
		b.Add(c.supported, supported, label)
		b.Add(c.duration, st.Duration.Seconds(), label)
		if !st.LastSuccess.IsZero() {
			b.Add(c.lastSuccess, unixSeconds(st.LastSuccess), label)
		}
	}
	return nil
}
