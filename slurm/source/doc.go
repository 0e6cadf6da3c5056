// Package source chooses and configures where `jobscope slurm` reads Slurm
// from, slurmrestd (slurm/rest) or the commands on this host (slurm/cli),
// from the command's --slurm.* source flags.
//
// It may import the slurm model, slurm/rest, slurm/cli and
// internal/flagvalue: it is the one package that knows both sources.
package source
