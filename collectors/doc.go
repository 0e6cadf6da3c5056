// Package collectors is jobscope's collector framework: every exporter command
// (slurm, node) owns a Set of named collectors that can be switched with
// --collector.NAME / --no-collector.NAME (set.go). The framework, not the
// collectors, measures each collector's duration and success, runs them in
// parallel, and makes sure one failing or hung collector never fails the
// scrape or blanks the others (scrape.go).
//
// Collector packages live below this one (collectors/slurm, ...) and only map
// typed data to metrics.
//
// A collector is one of two kinds. A Collector sends const metrics (Emitter)
// on every scrape. A FamilySetCollector returns ready-built families
// (FamilyBuilder) in a FamilySet shared by every scrape until its data
// changes: the slurm collectors build 1M+ series once per poll, and
// sending, writing, hashing and sorting each of them again on every scrape
// cost seconds. The node collectors, whose data changes with every scrape,
// build a new set per scrape (NewScrapeFamilySet), which skips the const
// metric, label pairs and registry sort per series but caches nothing.
//
// Two paths serve a scrape. Runner.Scrape is the plain client_golang one:
// every metric goes through channels into a registry, which checks each of
// them. Runner.Gatherer, which /metrics uses, runs the same collectors but
// takes the FamilySets as they are; the set caches its encoded (and
// gzipped) part of the page, which /metrics writes as it is after the small
// part gathered for the scrape (Gathering.GatherPage, Page.Write: page.go).
// Tests gather FamilySetCollectors through Runner.Scrape with a pedantic
// registry to keep the checks the fast path skips.
//
// It may import client_golang and internal/flagvalue; it imports no source
// and no collector package (those import it).
package collectors
