package main

import (
	"log/slog"

	"jobscope/slurm"
	"jobscope/slurm/cli"
)

// newCLISource reads Slurm through its commands on this host, for clusters
// without slurmrestd.
func newCLISource(f *sourceFlags, logger *slog.Logger) (slurm.Source, error) {
	return cli.New(cli.Options{BinDir: *f.cliBinDir, Timeout: *f.timeout, Logger: logger})
}
