// Package names checks the one-namespace rule of docs/names.md on every
// /metrics page jobscope's tests pin down: each family starts with
// "jobscope_", and none is a name Slurm's own /metrics (25.11+) or SchedMD's
// Slinky exporter emits, since sites scrape those next to jobscope.
//
// It reads the golden pages from the tree and imports test/testkit only.
package names
