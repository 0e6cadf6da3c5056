// Package slurm holds the collectors of `jobscope slurm`. They read the
// poller's latest immutable snapshot, so a scrape never waits on slurmctld,
// and they only map typed fields to metrics.
//
// Their output depends on nothing but the snapshot and whether its
// resources are still fresh, and it is large (1.25M series for 10k nodes
// and 100k jobs), so each collector builds its metric families once per
// snapshot and serves them to every scrape until the next poll
// (snapshotCollector), as a collectors.FamilySet that also caches their
// encoded and gzipped text; Prebuild builds both right after a poll, so no
// scrape waits for it and a scrape only copies bytes. See
// docs/performance.md.
//
// It may import client_golang, the collectors framework, internal/flagvalue
// and the slurm model; never a source (slurm/rest, slurm/cli, slurm/poller):
// the command hands it the poller's snapshot function.
package slurm
