package slurm

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"jobscope/collectors"
)

type fairshareCollector struct {
	deps       Deps
	rawShares  *prometheus.Desc
	normShares *prometheus.Desc
	rawUsage   *prometheus.Desc
	effUsage   *prometheus.Desc
	factor     *prometheus.Desc
	level      *prometheus.Desc
}

func newFairshareCollector(d Deps) (collectors.Collector, error) {
	l := []string{"account", "user"}
	return &fairshareCollector{
		deps: d,
		rawShares: desc("fairshare", "raw_shares",
			"Shares configured for an association (user is empty on account rows).", l...),
		normShares: desc("fairshare", "normalized_shares",
			"Shares of an association normalized to its siblings, 0..1.", l...),
		rawUsage: desc("fairshare", "raw_usage",
			"Decayed usage of an association in TRES-seconds (billing-weighted).", l...),
		effUsage: desc("fairshare", "effective_usage",
			"Usage of an association relative to the whole cluster, 0..1.", l...),
		factor: desc("fairshare", "factor",
			"Fairshare factor of an association, 0..1 (1 = far under its share).", l...),
		level: desc("fairshare", "level",
			"Level fairshare (Fair Tree): shares over usage among siblings; +Inf with no usage.", l...),
	}, nil
}

func (c *fairshareCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	snap := c.deps.Snapshot()
	if !c.deps.fresh(snap, ResourceShares) {
		return errStale(ResourceShares)
	}
	e := collectors.NewEmitter(ch)
	for _, s := range snap.Shares {
		e.Gauge(c.rawShares, float64(s.RawShares), s.Account, s.User)
		e.Gauge(c.normShares, s.NormShares, s.Account, s.User)
		e.Gauge(c.rawUsage, s.RawUsage, s.Account, s.User)
		e.Gauge(c.effUsage, s.EffectiveUsage, s.Account, s.User)
		if s.FairShare == s.FairShare { // NaN: Slurm gives no factor for this row
			e.Gauge(c.factor, s.FairShare, s.Account, s.User)
		}
		if s.LevelFS == s.LevelFS {
			e.Gauge(c.level, s.LevelFS, s.Account, s.User)
		}
	}
	return e.Err()
}
