package slurm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"jobscope/collectors"
	"jobscope/slurm"
)

// Namespace prefixes every metric of these collectors.
const Namespace = "jobscope_slurm"

// Deps is what the slurm collectors need.
type Deps struct {
	// Snapshot returns the poller's latest snapshot; never nil.
	Snapshot func() *slurm.Snapshot
	// MaxStaleness is how old a resource's last successful fetch may be
	// before its series are withdrawn instead of served stale. 0 = never.
	MaxStaleness time.Duration
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// Resource names as the poller records them in Snapshot.Resources.
const (
	ResourceInfo       = slurm.ResourceInfo
	ResourceJobs       = slurm.ResourceJobs
	ResourceNodes      = slurm.ResourceNodes
	ResourcePartitions = slurm.ResourcePartitions
	ResourceDiag       = slurm.ResourceDiag
	ResourceShares     = slurm.ResourceShares
)

// Register adds every slurm collector to set.
func Register(set *collectors.Set[Deps]) {
	set.Register("poll", true, "jobscope_slurm_up, controller info and per-resource poll status", newPollCollector)
	set.Register("nodes", true, "Nodes by state, per-node CPUs, memory and GPUs", newNodesCollector)
	set.Register("partitions", true, "Per-partition nodes, CPUs and GPUs", newPartitionsCollector)
	set.Register("jobs", true, "Jobs by partition and state, pending jobs by reason", newJobsCollector)
	set.Register("users", true, "Jobs, CPUs and GPUs by user and state", newUsersCollector)
	set.Register("accounts", true, "Jobs, CPUs and GPUs by account and state", newAccountsCollector)
	set.Register("running-jobs", true, "Per running job: info and allocation per node, GPU indices included", newRunningJobsCollector)
	set.Register("scheduler", true, "Scheduler health from sdiag: cycles, backfill, threads, agent queue, RPCs", newSchedulerCollector)
	set.Register("fairshare", true, "Fairshare per account and user (needs slurmdbd)", newFairshareCollector)
}

// fresh reports whether resource may be served from snap: it was fetched
// at least once and not longer ago than MaxStaleness.
func (d Deps) fresh(snap *slurm.Snapshot, resource slurm.Resource) bool {
	st, ok := snap.Resources[resource]
	if !ok || st.LastSuccess.IsZero() {
		return false
	}
	if d.MaxStaleness <= 0 {
		return true
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	return now().Sub(st.LastSuccess) <= d.MaxStaleness
}

// errStale is returned by a collector whose data is missing or too old; the
// framework then reports the collector as failed, which is the truth. It
// wraps collectors.ErrNoData so it is logged at debug level: the poller has
// already logged why the data is missing, once, not once per scrape.
type errStale slurm.Resource

func (e errStale) Error() string {
	return "no fresh " + string(e) + " data from slurmctld (see jobscope_slurm_poll_success)"
}

func (e errStale) Unwrap() error { return collectors.ErrNoData }

func desc(subsystem, name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewGaugeDesc(prometheus.BuildFQName(Namespace, subsystem, name), help, labels...)
}

func counterDesc(subsystem, name, help string, labels ...string) *collectors.FamilyDesc {
	return collectors.NewCounterDesc(prometheus.BuildFQName(Namespace, subsystem, name), help, labels...)
}

// buildFunc adds one collector's samples for snap to b. fresh tells whether
// one of the collector's resources may be served (Deps.fresh).
type buildFunc func(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(resource slurm.Resource) bool) error

// snapshotCollector runs a buildFunc once per snapshot and freshness of the
// resources it reads, and serves the built families, as one FamilySet with
// their cached encodings, to every scrape until either changes. Concurrent scrapes of a new snapshot wait for one build;
// a build that outlives a scrape's deadline still completes and serves the
// next scrape.
type snapshotCollector struct {
	deps      Deps
	resources []slurm.Resource // whose freshness the output depends on
	build     buildFunc

	mu   sync.Mutex // held during a build
	last atomic.Pointer[builtFamilies]
}

type builtFamilies struct {
	snap  weak.Pointer[slurm.Snapshot]
	fresh uint64 // bit i: resources[i] is fresh
	set   *collectors.FamilySet
	err   error
}

func newSnapshotCollector(d Deps, build buildFunc, resources ...slurm.Resource) collectors.Collector {
	c := &snapshotCollector{deps: d, resources: resources, build: build}
	return collectors.FamilySetFunc(c.families)
}

// snapshotKey is the snapshot's key in collectors.PerScrape: every slurm
// collector of a runner has the same Deps (Set.Build).
type snapshotKey struct{}

// families returns the set of the current snapshot and freshness. The set
// also caches the families' encoding (collectors.FamilySet), so a scrape of
// an unchanged snapshot copies bytes; Prebuild warms the encodings the
// previous set was asked for. The snapshot is read once per scrape
// (collectors.PerScrape): each collector reading it on its own, a poll
// published mid-scrape gave a page where the collectors that read first
// had no data (collector_success 0) and the poll collector, reading after,
// reported every resource fetched.
func (c *snapshotCollector) families(ctx context.Context) (*collectors.FamilySet, error) {
	snap := collectors.PerScrape(ctx, snapshotKey{}, c.deps.Snapshot)
	var fresh uint64
	for i, r := range c.resources {
		if c.deps.fresh(snap, r) {
			fresh |= 1 << i
		}
	}
	current := func() *builtFamilies {
		if b := c.last.Load(); b != nil && b.snap == weak.Make(snap) && b.fresh == fresh {
			return b
		}
		return nil
	}
	if b := current(); b != nil {
		return b.set, b.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := current(); b != nil {
		return b.set, b.err
	}
	isFresh := func(resource slurm.Resource) bool {
		for i, r := range c.resources {
			if r == resource {
				return fresh&(1<<i) != 0
			}
		}
		panic("slurm collector reads resource " + string(resource) + " it did not declare")
	}
	var prevSet *collectors.FamilySet
	if prev := c.last.Load(); prev != nil {
		prevSet = prev.set
	}
	// sized is the previous build of this collector: the best guess of
	// this one's sizes (SizeLikeSet).
	build := func(snap *slurm.Snapshot, sized *collectors.FamilySet) (*collectors.FamilyBuilder, error) {
		fb := collectors.NewFamilyBuilder()
		fb.SizeLikeSet(sized)
		return fb, c.build(fb, snap, isFresh)
	}
	fb, err := build(snap, prevSet)
	// The families are released once their encodings are built (Prebuild);
	// the rare reader that needs them again (OTLP push, a format not
	// cached) rebuilds them from the same snapshot, sized exactly by the
	// set itself. Neither the set nor c.last holds the snapshot: the
	// previous poll's data (about 60 MB at 100k jobs) is freed as soon as
	// the poller has replaced it, not when the last collector has built
	// from the new one. A reader still holding a set whose snapshot is gone
	// gets the families of the current one: it raced a poll.
	weakSnap := weak.Make(snap)
	var set *collectors.FamilySet
	rebuild := func() []*dto.MetricFamily {
		snap := weakSnap.Value()
		if snap == nil {
			current, _ := c.families(context.Background())
			return current.Families()
		}
		fb, _ := build(snap, set) // its errors were reported by the first build
		mfs, _ := fb.Build()
		return mfs
	}
	if _, series := fb.Names(); sum(series) >= streamSeries {
		// Built one family at a time by Warm; a sample it drops (a
		// bug) is reported as an encoding error, not as this
		// collector's.
		set = collectors.NewStreamedFamilySet(fb, rebuild)
	} else {
		mfs, buildErr := fb.Build()
		err = errors.Join(err, buildErr)
		set = collectors.NewReleasableFamilySet(mfs, rebuild)
	}
	set.WarmLike(prevSet)
	b := &builtFamilies{snap: weakSnap, fresh: fresh, set: set, err: err}
	c.last.Store(b)
	return b.set, b.err
}

// streamSeries is the number of series from which a collector's families
// are built one family at a time by Prebuild (collectors.NewStreamedFamilySet)
// instead of all at once: at that size the dto objects of all of them
// together are tens of MB (about 200 bytes a series).
var streamSeries = 100_000

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// lower turns Slurm's upper-case state words into label values.
func lower(s string) string { return strings.ToLower(s) }

// gpuCounts sums GPU GRES by type ("" for untyped).
func gpuCounts(gres []slurm.GRES) map[string]uint64 {
	out := map[string]uint64{}
	for _, g := range gres {
		if g.Name == "gpu" {
			out[g.Type] += g.Count
		}
	}
	return out
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// Prebuild builds the families of runner's collectors, and the encodings
// scrapes asked for the previous snapshot (gzipped text at first), as soon
// as a new snapshot appears, checking every interval until ctx is done, so
// that no scrape waits for a build (seconds at 100k jobs; see
// docs/performance.md).
// Each build is bounded by timeout. The poller has no publish hook, hence
// the check; an atomic load per interval costs nothing.
func Prebuild(ctx context.Context, runner *collectors.Runner, snapshot func() *slurm.Snapshot, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last *slurm.Snapshot
	for {
		if snap := snapshot(); snap != last {
			last = snap
			build, cancel := context.WithTimeout(ctx, timeout)
			// The collectors' errors are logged by the framework, as a
			// scrape's would be; the families and their encodings stay
			// cached for the scrapes. An encoding error is the next
			// scrape's to log.
			_ = runner.Warm(build)
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
