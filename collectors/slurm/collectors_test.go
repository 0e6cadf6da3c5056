package slurm

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"jobscope/collectors"
	"jobscope/slurm"
	"jobscope/slurm/cli"
	"jobscope/slurm/openapi"
	"jobscope/test/golden"
	"jobscope/test/testkit"
)

var pollTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// snapshotFrom decodes recorded or spec-generated payloads of one version
// into a snapshot as the poller would build it.
func snapshotFrom(t testing.TB, prefix string, shares func() ([]slurm.Share, error)) *slurm.Snapshot {
	t.Helper()
	snap := &slurm.Snapshot{Taken: pollTime, Source: "rest", Resources: map[slurm.Resource]slurm.ResourceStatus{}}
	ok := func(r slurm.Resource, err error) {
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		snap.Resources[r] = slurm.ResourceStatus{OK: true, Duration: 50 * time.Millisecond, LastSuccess: pollTime}
	}
	var err error
	var meta openapi.Meta
	snap.Info, meta, err = openapi.DecodePing(open(t, prefix+"_ping.json"))
	ok(ResourceInfo, err)
	snap.Info.APIVersion = openapi.DetectVersion(meta.Plugin)
	snap.Jobs, _, err = openapi.DecodeJobs(open(t, prefix+"_jobs.json"))
	ok(ResourceJobs, err)
	snap.Nodes, _, err = openapi.DecodeNodes(open(t, prefix+"_nodes.json"))
	ok(ResourceNodes, err)
	snap.Partitions, _, err = openapi.DecodePartitions(open(t, prefix+"_partitions.json"))
	ok(ResourcePartitions, err)
	snap.Diag, _, err = openapi.DecodeDiag(open(t, prefix+"_diag.json"))
	ok(ResourceDiag, err)
	snap.Shares, err = shares()
	ok(ResourceShares, err)
	return snap
}

func debianSnapshot(t testing.TB) *slurm.Snapshot {
	return snapshotFrom(t, "debian-dbd-rest-v0.0.38", func() ([]slurm.Share, error) {
		return cli.ParseSshareParsable(open(t, "debian-dbd-cli-sshare_parsable.txt"))
	})
}

func v44Snapshot(t testing.TB) *slurm.Snapshot {
	return snapshotFrom(t, "specgen-v0.0.44", func() ([]slurm.Share, error) {
		s, _, err := openapi.DecodeShares(open(t, "specgen-v0.0.44_shares.json"))
		return s, err
	})
}

// gatherAll runs every slurm collector on snap through the framework's
// Runner.Scrape, every metric through a pedantic registry, and returns the
// registry. /metrics takes the faster Runner.Gatherer;
// TestGathererEqualsPedanticScrape keeps both equal.
func gatherAll(t testing.TB, snap *slurm.Snapshot, maxStale time.Duration) *prometheus.Registry {
	t.Helper()
	scrape, err := newRunner(t, snap, maxStale).Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrape)
	return reg
}

func newRunner(t testing.TB, snap *slurm.Snapshot, maxStale time.Duration) *collectors.Runner {
	t.Helper()
	return newRunnerOf(t, func() *slurm.Snapshot { return snap }, maxStale)
}

// newRunnerOf builds every slurm collector over the snapshots snapshot
// returns, a minute after the polls of the test data.
func newRunnerOf(t testing.TB, snapshot func() *slurm.Snapshot, maxStale time.Duration) *collectors.Runner {
	t.Helper()
	set := collectors.NewSet[Deps]()
	Register(set)
	runner, err := set.Build(Deps{
		Snapshot:     snapshot,
		MaxStaleness: maxStale,
		Now:          func() time.Time { return pollTime.Add(time.Minute) },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return runner
}

// render writes the registry's families in text format, dropping the
// framework's duration samples, which vary from run to run.
func render(t testing.TB, reg prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	page := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		if mf.GetName() != "jobscope_scrape_collector_duration_seconds" {
			page = append(page, mf)
		}
	}
	return golden.Text(t, page)
}

func TestGoldenDebian2205(t *testing.T) {
	reg := gatherAll(t, debianSnapshot(t), 0)
	golden.LintGatherer(t, reg)
	golden.Check(t, filepath.Join("testdata", "golden-debian-v0.0.38.prom"), render(t, reg))
}

func TestGoldenV0044(t *testing.T) {
	reg := gatherAll(t, v44Snapshot(t), 0)
	golden.LintGatherer(t, reg)
	golden.Check(t, filepath.Join("testdata", "golden-specgen-v0.0.44.prom"), render(t, reg))
}

// TestDebianValues pins values that were read off the real cluster by hand
// (scontrol show job 4 / show node node1 at capture time), so a golden file
// regenerated with a decoding bug would still be caught.
func TestDebianValues(t *testing.T) {
	reg := gatherAll(t, debianSnapshot(t), 0)
	expect := `
# HELP jobscope_slurm_job_gpu_allocated One series per GPU a running job holds: Slurm's GRES index of the GPU on that node. Slurm's index may differ from NVML's; the node agent maps it to a GPU UUID.
# TYPE jobscope_slurm_job_gpu_allocated gauge
`
	got := string(render(t, reg))
	for _, line := range []string{
		`jobscope_slurm_job_gpu_allocated{gres_index="1",job_id="4",node="node2",type="h100"} 1`,
		`jobscope_slurm_job_gpu_allocated{gres_index="2",job_id="4",node="node2",type="h100"} 1`,
		`jobscope_slurm_job_node_memory_bytes{job_id="4",node="node2"} 4.294967296e+09`,
		`jobscope_slurm_node_gpus{node="node1",type="h100"} 4`,
		`jobscope_slurm_node_memory_bytes{node="node1"} 1.6777216e+10`,
		`jobscope_slurm_up 1`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
	_ = expect
}

func TestStaleDataIsWithdrawn(t *testing.T) {
	snap := debianSnapshot(t)
	st := snap.Resources[ResourceJobs]
	st.OK, st.LastSuccess = false, pollTime.Add(-time.Hour)
	snap.Resources[ResourceJobs] = st
	reg := gatherAll(t, snap, 5*time.Minute)
	got := string(render(t, reg))
	for _, absent := range []string{"jobscope_slurm_job_info{", "jobscope_slurm_jobs{", "jobscope_slurm_user_jobs{"} {
		if strings.Contains(got, absent) {
			t.Errorf("stale jobs still served: found %s", absent)
		}
	}
	for _, line := range []string{
		`jobscope_slurm_up 0`,
		`jobscope_scrape_collector_success{collector="running-jobs"} 0`,
		`jobscope_scrape_collector_success{collector="nodes"} 1`,
		`jobscope_slurm_poll_success{resource="jobs"} 0`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
}

func TestEmptySnapshotBeforeFirstPoll(t *testing.T) {
	snap := &slurm.Snapshot{Resources: map[slurm.Resource]slurm.ResourceStatus{
		ResourceJobs: {Err: io.EOF},
	}}
	got := string(render(t, gatherAll(t, snap, time.Minute)))
	if !strings.Contains(got, "jobscope_slurm_up 0\n") {
		t.Errorf("jobscope_slurm_up not 0 before the first poll:\n%s", got)
	}
}

func TestFairshareNaNAndInf(t *testing.T) {
	snap := debianSnapshot(t)
	snap.Shares = []slurm.Share{{Account: "a", FairShare: math.NaN(), LevelFS: math.Inf(1)}}
	got := string(render(t, gatherAll(t, snap, 0)))
	if strings.Contains(got, `jobscope_slurm_fairshare_factor{account="a"`) {
		t.Error("NaN fairshare factor exported")
	}
	if !strings.Contains(got, `jobscope_slurm_fairshare_level{account="a",user=""} +Inf`) {
		t.Error("+Inf level fairshare missing")
	}
}

// TestGathererEqualsPedanticScrape: the families /metrics serves as built
// (Runner.Gatherer) equal what a pedantic registry gathers metric by metric
// through Runner.Scrape, on every fixture and with stale data, so a
// duplicate series or an inconsistent label set fails here and not only in
// a Prometheus server.
func TestGathererEqualsPedanticScrape(t *testing.T) {
	stale := debianSnapshot(t)
	st := stale.Resources[ResourceNodes]
	st.OK, st.LastSuccess = false, pollTime.Add(-time.Hour)
	stale.Resources[ResourceNodes] = st
	for _, tc := range []struct {
		name     string
		snap     *slurm.Snapshot
		maxStale time.Duration
	}{
		{"debian-v0.0.38", debianSnapshot(t), 0},
		{"specgen-v0.0.44", v44Snapshot(t), 0},
		{"stale-nodes", stale, 5 * time.Minute},
		{"before-first-poll", &slurm.Snapshot{Resources: map[slurm.Resource]slurm.ResourceStatus{}}, time.Minute},
	} {
		// Every collector streamed (threshold 0) or none (the fixtures are
		// small): Warm building them one family at a time gives the same
		// page.
		for _, stream := range []int{streamSeries, 0} {
			t.Run(fmt.Sprintf("%s/stream-from=%d", tc.name, stream), func(t *testing.T) {
				defer func(prev int) { streamSeries = prev }(streamSeries)
				streamSeries = stream
				gatherPageChecks(t, tc.snap, tc.maxStale)
			})
		}
	}
}

// gatherPageChecks compares what Runner.Gatherer gathers and what
// /metrics writes from the cached encodings, before and after Warm, with the
// pedantic registry's page.
func gatherPageChecks(t *testing.T, snap *slurm.Snapshot, maxStale time.Duration) {
	t.Helper()
	want := render(t, gatherAll(t, snap, maxStale))
	runner := newRunner(t, snap, maxStale)
	g, err := runner.Gatherer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, g)
	if !bytes.Equal(got, want) {
		t.Errorf("Runner.Gatherer page:\n%s\ndiffers from the pedantic registry's:\n%s", got, want)
	}
	golden.LintGatherer(t, g)

	// The page /metrics writes (the sets' cached encoding after the
	// fresh part), decoded as Prometheus does, twice: built, then
	// from the cache.
	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		for range 2 {
			if got := render(t, writtenPage(t, g, format)); !bytes.Equal(got, want) {
				t.Errorf("%s page:\n%s\ndiffers from the pedantic registry's:\n%s", format, got, want)
			}
		}
	}

	// Warm (Prebuild) encodes and releases the families: what
	// still needs them (Gather for OTLP, a format not encoded
	// yet) gets them rebuilt, identical.
	if err := runner.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := render(t, g); !bytes.Equal(got, want) {
		t.Errorf("Gather after Warm:\n%s\ndiffers from the pedantic registry's:\n%s", got, want)
	}
	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		if got := render(t, writtenPage(t, g, format)); !bytes.Equal(got, want) {
			t.Errorf("%s page after Warm:\n%s\ndiffers from the pedantic registry's:\n%s", format, got, want)
		}
	}

	// Warm before any scrape, as Prebuild does after a poll: the gzipped
	// text it builds (streamed, for a streamed set) is what a scrape gets.
	warmed := newRunner(t, snap, maxStale)
	if err := warmed.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	g, err = warmed.Gatherer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, writtenPage(t, g, expfmt.NewFormat(expfmt.TypeTextPlain))); !bytes.Equal(got, want) {
		t.Errorf("page warmed before any scrape:\n%s\ndiffers from the pedantic registry's:\n%s", got, want)
	}
}

// writtenPage writes g's page (GatherPage, Page.Write) gzip-compressed in
// format and returns a gatherer of what a scraper decodes from it, sorted
// by name.
func writtenPage(t *testing.T, g *collectors.Gathering, format expfmt.Format) prometheus.Gatherer {
	t.Helper()
	p, err := g.GatherPage()
	if err != nil && !errors.Is(err, collectors.ErrNoData) {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf, format, true); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf) // multistream, as Prometheus reads it
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := testkit.DecodePage(zr, format)
	if err != nil {
		t.Fatalf("%s page: %v", format, err)
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
}

// TestFamiliesBuiltOncePerSnapshot: scrapes of one snapshot share its
// families; a new snapshot or a change of freshness builds them again.
func TestFamiliesBuiltOncePerSnapshot(t *testing.T) {
	snap := debianSnapshot(t)
	current, now := snap, pollTime.Add(time.Minute)
	c, err := newNodesCollector(Deps{
		Snapshot:     func() *slurm.Snapshot { return current },
		MaxStaleness: 5 * time.Minute,
		Now:          func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	fc := c.(collectors.FamilySetCollector)
	families := func() []*dto.MetricFamily {
		t.Helper()
		set, err := fc.FamilySet(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return set.Families()
	}
	first := families()
	if second := families(); len(first) == 0 || &second[0] != &first[0] {
		t.Error("second scrape of the same snapshot built its families again")
	}
	next := *snap
	current = &next
	if third := families(); &third[0] == &first[0] {
		t.Error("a new snapshot was served the previous one's families")
	}
	now = pollTime.Add(time.Hour)
	if set, err := fc.FamilySet(context.Background()); len(set.Families()) != 0 || !errors.Is(err, collectors.ErrNoData) {
		t.Errorf("stale nodes: %d families, err %v; want none and ErrNoData", len(set.Families()), err)
	}
}

// TestPrebuildOnNewSnapshot: a new snapshot is built without a scrape, so a
// scrape after it only reads the cache.
func TestPrebuildOnNewSnapshot(t *testing.T) {
	var current atomic.Pointer[slurm.Snapshot]
	current.Store(debianSnapshot(t))
	var reads atomic.Int64 // snapshot reads by the collectors
	runner := newRunnerOf(t, func() *slurm.Snapshot { reads.Add(1); return current.Load() }, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Prebuild(ctx, runner, current.Load, time.Millisecond, time.Minute)
	}()
	defer func() { cancel(); <-done }()
	waitReads := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); reads.Load() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("collectors read the snapshot %d times, want %d", reads.Load(), n)
			}
		}
	}
	collectorsN := int64(len(runner.Names()))
	waitReads(collectorsN)
	next := *current.Load()
	current.Store(&next)
	waitReads(2 * collectorsN)
	time.Sleep(20 * time.Millisecond)
	if n := reads.Load(); n != 2*collectorsN {
		t.Errorf("snapshot read %d times, want %d: built again without a new snapshot", n, 2*collectorsN)
	}
}

// TestHelpNamesExistingMetrics: a help text that points the reader to
// another jobscope_slurm_* metric must name one these collectors export. A
// bare slurm_* name is matched too, so a help text left on a pre-rename name
// (or one pointing at Slurm's own /metrics families) fails.
func TestHelpNamesExistingMetrics(t *testing.T) {
	mfs, err := gatherAll(t, debianSnapshot(t), 0).Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	ref := regexp.MustCompile(`\b(?:jobscope_)?slurm_[a-z_]+\*?`)
	for _, mf := range mfs {
		for _, n := range ref.FindAllString(mf.GetHelp(), -1) {
			if strings.HasSuffix(n, "*") {
				continue // a prefix: jobscope_slurm_job_*
			}
			if !names[n] {
				t.Errorf("%s: help names %s, which is not exported", mf.GetName(), n)
			}
		}
	}
}

// TestUnreportedDiagStatsAbsent: Slurm 22.05's diag (v0.0.38, recorded) has
// no bf_last_depth / bf_last_depth_try; their gauges must be absent, not 0
// (sdiag's text of the same cluster says "Last depth cycle: 3").
func TestUnreportedDiagStatsAbsent(t *testing.T) {
	got := string(render(t, gatherAll(t, debianSnapshot(t), 0)))
	for _, absent := range []string{"jobscope_slurm_backfill_last_depth ", "jobscope_slurm_backfill_last_depth_try "} {
		if strings.Contains(got, "\n"+absent) {
			t.Errorf("%s exported although v0.0.38 does not report it", absent)
		}
	}
	for _, line := range []string{"jobscope_slurm_backfill_cycle_max_seconds 0.005215", "jobscope_slurm_backfill_queue_length 3"} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
}

// TestFairshareDuplicateAssociations: per-partition associations repeat an
// account and user; the collector keeps the first row and still succeeds.
func TestFairshareDuplicateAssociations(t *testing.T) {
	snap := debianSnapshot(t)
	snap.Shares = []slurm.Share{
		{Account: "physics", User: "alice", RawShares: 2, FairShare: 0.5, LevelFS: 1},
		{Account: "physics", User: "alice", RawShares: 7, FairShare: 0.1, LevelFS: 2},
	}
	got := string(render(t, gatherAll(t, snap, 0)))
	for _, line := range []string{
		`jobscope_slurm_fairshare_raw_shares{account="physics",user="alice"} 2`,
		`jobscope_scrape_collector_success{collector="fairshare"} 1`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
}

// TestNodesSinfoState: nodes counted under sinfo's state word, each once, and
// not-responding nodes counted apart, whatever suffix sinfo would show.
func TestNodesSinfoState(t *testing.T) {
	snap := debianSnapshot(t)
	base := snap.Nodes[0]
	node := func(name, state string) slurm.Node {
		n := base
		n.Name = name
		n.State, n.Flags = slurm.ParseNodeState(state)
		return n
	}
	snap.Nodes = []slurm.Node{
		node("a", "IDLE+DRAIN"),
		node("b", "IDLE+DRAIN+NOT_RESPONDING"),
		node("c", "MIXED+DRAIN"),
		node("d", "ALLOCATED+DRAIN+COMPLETING"),
		node("e", "IDLE+MAINTENANCE+NOT_RESPONDING"),
		node("f", "DOWN+POWERED_DOWN+NOT_RESPONDING"),
		node("g", "IDLE+RESERVED"),
		node("h", "ALLOCATED+COMPLETING"),
		node("i", "MIXED"),
	}
	got := string(render(t, gatherAll(t, snap, 0)))
	for _, line := range []string{
		`jobscope_slurm_nodes_sinfo_state{state="drained"} 2`,
		`jobscope_slurm_nodes_sinfo_state{state="draining"} 2`,
		`jobscope_slurm_nodes_sinfo_state{state="maint"} 1`,
		`jobscope_slurm_nodes_sinfo_state{state="down"} 1`,
		`jobscope_slurm_nodes_sinfo_state{state="reserved"} 1`,
		`jobscope_slurm_nodes_sinfo_state{state="allocated"} 1`,
		`jobscope_slurm_nodes_sinfo_state{state="mixed"} 1`,
		`jobscope_slurm_nodes_sinfo_state{state="idle"} 0`,
		`jobscope_slurm_nodes_sinfo_state{state="failing"} 0`,
		`jobscope_slurm_nodes_not_responding 3`,
		// the base-state count is unchanged: drained idle nodes are idle there
		`jobscope_slurm_nodes{state="idle"} 4`,
	} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
	var sum float64
	mfs, err := gatherAll(t, snap, 0).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "jobscope_slurm_nodes_sinfo_state" {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	if sum != float64(len(snap.Nodes)) {
		t.Errorf("sinfo states sum to %v nodes, want %d", sum, len(snap.Nodes))
	}
}

// TestReleasedSetOutlivesItsSnapshot: a set holds its snapshot weakly, so
// the previous poll's data is freed once the poller replaced it; a reader
// that still holds such a set and needs its released families gets the
// current snapshot's.
func TestReleasedSetOutlivesItsSnapshot(t *testing.T) {
	var current atomic.Pointer[slurm.Snapshot]
	current.Store(debianSnapshot(t))
	c, err := newNodesCollector(Deps{Snapshot: current.Load})
	if err != nil {
		t.Fatal(err)
	}
	fc := c.(collectors.FamilySetCollector)
	old, err := fc.FamilySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old.WarmLike(nil)
	if err := old.Warm(); err != nil { // releases the families
		t.Fatal(err)
	}
	next := *current.Load()
	next.Nodes = next.Nodes[:1]
	gone := weak.Make(current.Load())
	current.Store(&next)
	runtime.GC()
	if gone.Value() != nil {
		t.Fatal("the replaced snapshot is still reachable: a set or the collector holds it")
	}
	cur, err := fc.FamilySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(t, families(old.Families())), render(t, families(cur.Families())); !bytes.Equal(got, want) {
		t.Errorf("released set of a gone snapshot:\n%s\nwant the current one's:\n%s", got, want)
	}
}

func families(mfs []*dto.MetricFamily) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
}

// TestScrapeSeesOneSnapshot: a poll published while a scrape runs must not
// split the page between two snapshots. The scrape's collectors run
// concurrently and each used to read the poller's latest snapshot on its
// own: the one that read before the first poll's publish said "no data"
// (collector_success 0) next to a poll collector, reading after it, that
// reported every resource fetched. Here the first read of every scrape
// returns the poller's snapshot before its first poll and every later read
// the polled one, as if the poll landed right after that read.
func TestScrapeSeesOneSnapshot(t *testing.T) {
	notYet := &slurm.Snapshot{Source: "rest", Resources: map[slurm.Resource]slurm.ResourceStatus{}}
	for _, r := range slurm.Resources {
		notYet.Resources[r] = slurm.ResourceStatus{Err: errors.New("not polled yet")}
	}
	polled := debianSnapshot(t)
	// state is what a scrape says of the collectors and the poll: success per
	// collector, and jobscope_slurm_poll_success per resource.
	state := func(mfs []*dto.MetricFamily) string {
		t.Helper()
		var b strings.Builder
		for _, mf := range mfs {
			if n := mf.GetName(); n == "jobscope_scrape_collector_success" || n == "jobscope_slurm_poll_success" {
				for _, m := range mf.GetMetric() {
					fmt.Fprintf(&b, "%s{%s} %v\n", n, m.GetLabel()[0].GetValue(), m.GetGauge().GetValue())
				}
			}
		}
		return b.String()
	}
	gather := func(g prometheus.Gatherer) string {
		t.Helper()
		mfs, _ := g.Gather() // the stale collectors' ErrNoData
		return state(mfs)
	}
	scrapeOf := func(runner *collectors.Runner) string {
		t.Helper()
		g, err := runner.Gatherer(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return gather(g)
	}
	before := scrapeOf(newRunner(t, notYet, 0))
	after := scrapeOf(newRunner(t, polled, 0))
	// Both paths a scrape takes: Gatherer (/metrics, OTLP) and Scrape.
	paths := map[string]func(*collectors.Runner) string{
		"Gatherer": scrapeOf,
		"Scrape": func(runner *collectors.Runner) string {
			t.Helper()
			c, err := runner.Scrape(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			return gather(reg)
		},
	}
	for name, scrape := range paths {
		var reads atomic.Int64
		runner := newRunnerOf(t, func() *slurm.Snapshot {
			if reads.Add(1) == 1 {
				return notYet
			}
			return polled
		}, 0)
		if got := scrape(runner); got != before && got != after {
			t.Errorf("%s: one scrape mixed two snapshots:\n%s\nwant all of\n%s\nor all of\n%s", name, got, before, after)
		}
	}
}
