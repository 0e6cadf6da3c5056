package slurm

import "context"

// Source reads one kind of data from slurmctld per call. The poller calls each
// method once per poll, so a poll costs a fixed, small number of requests
// whatever the scrape rate. Methods are independent: one failing does not
// stop the poller from calling the others.
//
// A Source may remember what it fetched last and use Slurm's update_time to
// answer "unchanged" cheaply; it then returns its cached value.
type Source interface {
	// Name is a short word for logs and metrics: "rest" or "cli".
	Name() string
	Info(ctx context.Context) (Info, error)
	Jobs(ctx context.Context) ([]Job, error)
	Nodes(ctx context.Context) ([]Node, error)
	Partitions(ctx context.Context) ([]Partition, error)
	// Diag returns scheduler statistics.
	Diag(ctx context.Context) (*Diag, error)
	// Shares returns the fairshare tree; ErrNotSupported where the cluster
	// has no accounting (no slurmdbd) or the version has no such endpoint.
	Shares(ctx context.Context) ([]Share, error)
}
