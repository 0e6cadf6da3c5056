package node

import (
	"context"
	"sort"
	"sync"

	"jobscope/collectors"
	"jobscope/gpu"
)

// jobEnergyCollector exports, per Slurm job on this node, the GPU energy
// its GPUs used since the agent first saw the job hold them. The counter
// starts at 0 then, so an agent restart reads as a counter reset and
// increase() over the job's lifetime stays right; only energy used while
// no agent ran is missing.
type jobEnergyCollector struct {
	deps   Deps
	energy *collectors.FamilyDesc
	gpus   *collectors.FamilyDesc
	start  *collectors.FamilyDesc

	mu sync.Mutex
	// track by job ID then GPU UUID.
	track map[string]map[string]*energyTrack
}

type energyTrack struct {
	base    float64 // counter value when first seen (or after a reset)
	carried float64 // energy accumulated before a GPU counter reset
	last    float64
	// held is whether the job held the GPU at the last scrape; energy the
	// GPU used while the job did not is not the job's.
	held bool
}

// value is the energy the track has counted for its job.
func (t *energyTrack) value() float64 { return t.carried + t.last - t.base }

func newJobEnergyCollector(d Deps) (collectors.Collector, error) {
	return familyCollector{newJobEnergy(d).build}, nil
}

func newJobEnergy(d Deps) *jobEnergyCollector {
	return &jobEnergyCollector{
		deps: d,
		energy: counterDesc("job_gpu_energy_joules_total",
			"GPU energy used by the job's GPUs on this node since the agent first saw the job hold them.", "job_id"),
		gpus: gaugeDesc("job_gpus",
			"GPUs (or MIG instances) the job holds on this node.", "job_id"),
		start: gaugeDesc("job_start_timestamp_seconds",
			"When the job started on this node (prolog file, else its cgroup), Unix time.", "job_id"),
		track: map[string]map[string]*energyTrack{},
	}
}

func (c *jobEnergyCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	if c.deps.Tenancy == nil {
		return collectors.ErrNoData
	}
	v := c.deps.Tenancy(ctx)
	energy := map[string]gpu.Reading{}
	if c.deps.GPUs != nil {
		// Shared with the gpu collector: the cache answers.
		if snap, err := c.deps.GPUs(ctx); err == nil {
			for _, d := range snap.Devices {
				energy[d.UUID] = d.Energy
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for _, j := range v.Jobs {
		seen[j.ID] = true
		e.Add(c.gpus, float64(len(j.GPUUUIDs)), j.ID)
		if !j.Start.IsZero() {
			e.Add(c.start, float64(j.Start.UnixNano())/1e9, j.ID)
		}
		tracks := c.track[j.ID]
		if tracks == nil {
			tracks = map[string]*energyTrack{}
			c.track[j.ID] = tracks
		}
		holds := map[string]bool{}
		for _, u := range j.GPUUUIDs {
			holds[u] = true
			r, ok := energy[u]
			if !ok || !r.OK {
				// A GPU that stopped answering keeps what it had counted.
				continue
			}
			t := tracks[u]
			switch {
			case t == nil:
				t = &energyTrack{base: r.Value, last: r.Value}
				tracks[u] = t
			case !t.held || r.Value < t.last:
				// Held again after a scrape without it (its process had
				// exited, a source failed), or the GPU's counter restarted
				// (driver reload): count on from here.
				t.carried += t.last - t.base
				t.base = r.Value
			}
			t.last = r.Value
		}
		// Every GPU the job was ever seen holding keeps what it counted, so
		// the job's counter never goes down when its GPU list shrinks.
		uuids := make([]string, 0, len(tracks))
		for u := range tracks {
			uuids = append(uuids, u)
		}
		sort.Strings(uuids) // a fixed order: the same float sum every scrape
		total := 0.0
		for _, u := range uuids {
			t := tracks[u]
			t.held = holds[u]
			total += t.value()
		}
		if len(tracks) > 0 {
			e.Add(c.energy, total, j.ID)
		}
	}
	for id := range c.track {
		if !seen[id] {
			delete(c.track, id)
		}
	}
	return nil
}
