package slurm

import (
	"time"

	"jobscope/internal/flagvalue"
)

// AddFlags registers --slurm.max-staleness, the collectors' Deps.MaxStaleness.
func AddFlags(g flagvalue.Group) *time.Duration {
	return flagvalue.DurationOrZero(g.Flag("slurm.max-staleness", "Withdraw a resource's series when its last successful poll is older than this; 0 serves stale data forever. At least the poll interval.").
		Default("5m"), time.Second)
}
