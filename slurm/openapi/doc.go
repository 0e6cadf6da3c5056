// Package openapi decodes slurmrestd responses and the JSON output of squeue,
// sinfo and sdiag (the same data_parser schemas) into jobscope's typed model.
//
// Payloads are large (a running job is 8-32 KB of JSON in v0.0.40+, so 100k
// jobs is over a gigabyte), so every decoder streams tokens with jsontext,
// reads only the fields the model needs and skips the rest unparsed. One
// decoder per resource handles every data_parser version from v0.0.37 to
// v0.0.45: the differences (plain numbers vs {set,infinite,number} objects,
// string vs list states, renamed and regrouped fields) are absorbed where each
// field is read.
//
// The decoders also serve slurm/cli, which streams the commands' stdout
// into them. The generated test payloads (v0.0.42 to v0.0.45) come from
// internal/specgen, run by `make generate`.
//
// May import: the slurm model only, and jsontext. No Prometheus code.
package openapi
