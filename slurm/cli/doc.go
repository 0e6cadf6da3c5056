// Package cli is a slurm.Source for hosts without slurmrestd: it runs the
// Slurm client commands (squeue/sinfo --json, sdiag, sshare -P, scontrol
// ping, sinfo -V) and streams their stdout into the same decoders the REST
// source uses.
//
// It may import the slurm model and slurm/openapi (the decoders); no
// Prometheus code.
package cli
