// Package poller reads a slurm.Source on an interval in the background and
// publishes each result as an immutable *slurm.Snapshot. Scrapes read the
// latest snapshot through an atomic pointer and never wait on slurmctld.
//
// One poll calls each Source method exactly once (concurrently, bounded by
// Options.Concurrency), so the load on slurmctld is fixed whatever the scrape
// rate. A failing resource keeps its previous value; its error is recorded in
// Snapshot.Resources and logged once per change of error, not once per poll.
//
// It may import the slurm model, internal/flagvalue and OpenTelemetry's
// trace API (a span per poll); it reads its Source through the slurm.Source
// interface, so it imports neither slurm/rest nor slurm/cli.
package poller
