// Package rest is a slurm.Source that reads slurmctld through slurmrestd.
//
// It negotiates the newest OpenAPI version the server offers (v0.0.37 to
// v0.0.45), authenticates with a JWT read from a file (re-read when the file
// changes) or with rest_auth/local over a unix socket, streams response
// bodies into the slurm/openapi decoders, and uses update_time where the
// version supports it so that an unchanged cluster costs almost nothing.
//
// It may import the slurm model and slurm/openapi (the decoders), and
// prometheus/common's TLS config; no client_golang. slurm/source builds it
// from the command's flags.
package rest
