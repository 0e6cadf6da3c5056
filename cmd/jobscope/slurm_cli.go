package main

import (
	"errors"
	"log/slog"

	"jobscope/slurm"
)

// newCLISource is replaced once slurm/cli's Source lands.
func newCLISource(_ *sourceFlags, _ *slog.Logger) (slurm.Source, error) {
	return nil, errors.New("the cli source is not available in this build yet")
}
