package slurm

import "errors"

// ErrNotSupported marks data this cluster or Slurm version cannot give (for
// example fairshare without slurmdbd). The poller reports it once and does not
// count it as a failure of slurmctld.
var ErrNotSupported = errors.New("not supported by this Slurm")
