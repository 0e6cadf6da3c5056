package infiniband

import (
	"jobscope/collectors"
	"jobscope/collectors/node"
)

// Name is the collector's name in the node command's Set
// (--collector.infiniband).
const Name = "infiniband"

// Register adds the infiniband collector to the node command's set and its
// --infiniband.* flags to flags (nil: defaults, for tests).
func Register(set *collectors.Set[node.Deps], flags collectors.FlagGroup) {
	cfg := &Config{}
	if flags != nil {
		cfg = AddFlags(flags)
	}
	set.Register(Name, true, "InfiniBand/RoCE ports from sysfs: state, rate, every counter, saturation, per-job traffic",
		func(d node.Deps) (collectors.Collector, error) {
			return New(Options{SysFS: d.Paths.SysFS, Config: *cfg, Jobs: jobsFrom(d), Now: d.Now, Logger: d.Logger})
		})
}

func jobsFrom(d node.Deps) func() []Job {
	if d.Jobs == nil {
		return nil
	}
	return func() []Job {
		local := d.Jobs()
		out := make([]Job, len(local))
		for i, j := range local {
			out[i] = Job{ID: j.ID, Start: j.Start, GPUPCIBusIDs: j.GPUPCIBusIDs}
		}
		return out
	}
}
