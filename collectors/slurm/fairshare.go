package slurm

import (
	"jobscope/collectors"
	"jobscope/slurm"
)

type fairshareCollector struct {
	rawShares  *collectors.FamilyDesc
	normShares *collectors.FamilyDesc
	rawUsage   *collectors.FamilyDesc
	effUsage   *collectors.FamilyDesc
	factor     *collectors.FamilyDesc
	level      *collectors.FamilyDesc
}

func newFairshareCollector(d Deps) (collectors.Collector, error) {
	l := []string{"account", "user"}
	c := &fairshareCollector{
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
	}
	return newSnapshotCollector(d, c.build, ResourceShares), nil
}

func (c *fairshareCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourceShares) {
		return errStale(ResourceShares)
	}
	// Per-partition associations give the same account and user more than
	// one row; the series have no partition label, so the first row (the
	// order Slurm lists the tree in) is exported and the rest skipped,
	// rather than duplicate series failing the whole collector.
	seen := make(map[[2]string]bool, len(snap.Shares))
	for _, s := range snap.Shares {
		key := [2]string{s.Account, s.User}
		if seen[key] {
			continue
		}
		seen[key] = true
		b.Add(c.rawShares, float64(s.RawShares), s.Account, s.User)
		b.Add(c.normShares, s.NormShares, s.Account, s.User)
		b.Add(c.rawUsage, s.RawUsage, s.Account, s.User)
		b.Add(c.effUsage, s.EffectiveUsage, s.Account, s.User)
		if s.FairShare == s.FairShare { // NaN: Slurm gives no factor for this row
			b.Add(c.factor, s.FairShare, s.Account, s.User)
		}
		if s.LevelFS == s.LevelFS {
			b.Add(c.level, s.LevelFS, s.Account, s.User)
		}
	}
	return nil
}
