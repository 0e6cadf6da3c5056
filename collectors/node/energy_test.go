package node

import (
	"context"
	"testing"

	"jobscope/collectors"
	"jobscope/gpu"
	"jobscope/slurm/nodelocal"
	"jobscope/tenancy"
)

// jobEnergy builds one scrape and returns job_gpu_energy_joules_total by
// job.
func jobEnergy(t *testing.T, c *jobEnergyCollector) map[string]float64 {
	t.Helper()
	b := collectors.NewFamilyBuilder()
	if err := c.build(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	mfs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "jobscope_job_gpu_energy_joules_total" {
			continue
		}
		for _, m := range mf.Metric {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// A job whose GPU list shrinks for a scrape (found only through its
// processes, one of which exits; a tenant source failing once) must not
// see its energy counter go down: Prometheus would read a reset and count
// the whole total again.
func TestJobEnergyNeverDecreases(t *testing.T) {
	energy := map[string]float64{"GPU-a": 1000, "GPU-b": 5000}
	held := []string{"GPU-a", "GPU-b"}
	deps := Deps{
		GPUs: func(context.Context) (*gpu.Snapshot, error) {
			s := &gpu.Snapshot{}
			for u, e := range energy {
				s.Devices = append(s.Devices, gpu.Device{UUID: u, Energy: gpu.R(e)})
			}
			return s, nil
		},
		Tenancy: func(context.Context) *tenancy.View {
			return &tenancy.View{Jobs: []nodelocal.LocalJob{{ID: "7", GPUUUIDs: append([]string(nil), held...)}}}
		},
	}
	c := newJobEnergy(deps)
	if got := jobEnergy(t, c)["7"]; got != 0 {
		t.Fatalf("first scrape %v, want 0", got)
	}
	energy["GPU-a"], energy["GPU-b"] = 1100, 5200
	if got := jobEnergy(t, c)["7"]; got != 300 {
		t.Fatalf("second scrape %v, want 300", got)
	}
	// GPU-b's process exited: only GPU-a is seen held.
	held = []string{"GPU-a"}
	energy["GPU-a"], energy["GPU-b"] = 1150, 5300
	if got := jobEnergy(t, c)["7"]; got != 350 {
		t.Errorf("GPU-b no longer seen: %v, want 350 (GPU-b's 200 J kept)", got)
	}
	// GPU-b is seen again: energy it used while not held is not the job's.
	held = []string{"GPU-a", "GPU-b"}
	energy["GPU-a"], energy["GPU-b"] = 1200, 5400
	if got := jobEnergy(t, c)["7"]; got != 400 {
		t.Errorf("GPU-b back: %v, want 400", got)
	}
	energy["GPU-a"], energy["GPU-b"] = 1200, 5500
	if got := jobEnergy(t, c)["7"]; got != 500 {
		t.Errorf("GPU-b used more: %v, want 500", got)
	}
}
