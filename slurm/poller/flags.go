package poller

import (
	"time"

	"jobscope/internal/flagvalue"
)

// MinInterval is the shortest poll interval the flag accepts: one poll
// makes a request per resource, and a shorter interval only loads
// slurmctld (1ms meant 1,400 requests a second).
const MinInterval = time.Second

// Flags are the poller's flags on `jobscope slurm`.
type Flags struct {
	Interval *time.Duration
	// Timeout is 0 when not given: New then uses the interval.
	Timeout *time.Duration
}

// AddFlags registers --slurm.poll-interval and --slurm.poll-timeout.
func AddFlags(g flagvalue.Group) *Flags {
	return &Flags{
		Interval: flagvalue.Duration(g.Flag("slurm.poll-interval", "How often to poll slurmctld; scrapes in between serve the last poll. At least 1s.").
			Default("30s"), MinInterval),
		Timeout: flagvalue.DurationOrZero(g.Flag("slurm.poll-timeout", "Deadline of one whole poll (every request). Default: the poll interval.").
			Default("0"), time.Millisecond),
	}
}
