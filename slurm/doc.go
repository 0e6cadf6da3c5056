// Package slurm holds jobscope's typed model of a Slurm cluster and the small
// parsers for Slurm's own string formats (GRES, hostlists, states). It has no
// Prometheus code: sources fill these structs, collectors turn them into
// metrics.
//
// Every quantity is in base units: bytes, seconds (time.Duration / time.Time),
// ratios 0..1. Slurm reports memory in MiB and times in Unix seconds or
// microseconds; the decoders convert at the edge so nothing downstream has to.
//
// It imports nothing of jobscope: every Slurm source and collector builds on
// it.
package slurm
