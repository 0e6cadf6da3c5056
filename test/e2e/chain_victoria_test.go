package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"jobscope/test/scaleout"
)

// checkVictoria holds the scale-out path to the chain's Prometheus: vmalert has loaded and
// evaluated every rule without an error, every recorded name has the same label sets in
// VictoriaMetrics as in Prometheus, and the job-level series of the running GPU jobs have
// the same values: GPUs held equal to Slurm's count in both, mean utilisation within what
// Prometheus recorded over the last 30 s (vmalert's chained evaluation trails).
func checkVictoria(t *testing.T, p *scaleout.Path, rules []string, slurmGPUs map[string]int) {
	names := scaleout.RecordedNames(t, rules)
	p.CheckRuleHealth(t, len(names))
	held, util := `job:jobscope_gpus_held:count{cluster="local"}`, `job:jobscope_gpu_utilization_ratio:avg{cluster="local"}`
	p.CompareRecorded(t, names, []string{"job:jobscope_gpus_held:count", "job:jobscope_gpu_utilization_ratio:avg"}, false, 60*time.Second)
	eventually(t, 30*time.Second, "job-level series in VictoriaMetrics = Prometheus's", func(ctx context.Context) error {
		vmHeld, err := byJobID(ctx, p.VM.Query, held)
		if err != nil {
			return err
		}
		want := map[string]float64{}
		for id, n := range slurmGPUs {
			want[id] = float64(n)
		}
		if fmt.Sprint(vmHeld) != fmt.Sprint(want) {
			return fmt.Errorf("VictoriaMetrics %s %v, Slurm %v", held, vmHeld, want)
		}
		vmUtil, err := byJobID(ctx, p.VM.Query, util)
		if err != nil {
			return err
		}
		// vmalert computes each level of the chained rules from the previous level's
		// output read back from VictoriaMetrics, a second or two later each: its job-level
		// value trails Prometheus's by a few seconds, and a simulated GPU moves up to
		// 0.008 a second. So VictoriaMetrics's value must lie within the range
		// Prometheus's took over the last 30 s.
		lo, err := byJobID(ctx, p.Prom.Query, "min_over_time("+util+"[30s])")
		if err != nil {
			return err
		}
		hi, err := byJobID(ctx, p.Prom.Query, "max_over_time("+util+"[30s])")
		if err != nil {
			return err
		}
		if len(vmUtil) != len(want) || len(lo) != len(want) {
			return fmt.Errorf("%s: VictoriaMetrics %v, Prometheus %v, Slurm's GPU jobs %v", util, vmUtil, lo, want)
		}
		for id, v := range vmUtil {
			if l, ok := lo[id]; !ok || v < l-1e-9 || v > hi[id]+1e-9 {
				return fmt.Errorf("job %s: %s VictoriaMetrics %v, Prometheus's over the last 30s [%v, %v]", id, util, v, lo[id], hi[id])
			}
		}
		t.Logf("VictoriaMetrics: GPUs held %v; utilisation %v (Prometheus's over 30s: %v to %v)", vmHeld, vmUtil, lo, hi)
		return nil
	})
}

// byJobID runs expr and returns its values by job_id; two series of one job are an error.
func byJobID(ctx context.Context, query func(context.Context, string) (model.Vector, error), expr string) (map[string]float64, error) {
	vec, err := query(ctx, expr)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range vec {
		id := string(s.Metric["job_id"])
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s: two series for job %q: %v", expr, id, vec)
		}
		out[id] = float64(s.Value)
	}
	return out, nil
}
