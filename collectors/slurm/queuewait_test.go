package slurm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/collectors"
	"jobscope/slurm"
)

// t0 is the first poll of the sequences below.
var t0 = pollTime

// qjob is a job as the queue-wait counting sees it; times are offsets
// from t0 (noTime: unset).
type qjob struct {
	id                uint32
	partition, state  string
	submit, start     time.Duration
	nodes             string
	requeued          bool
	arrayJob, arrTask int64
}

const noTime = time.Duration(-1 << 62)

func (q qjob) job() slurm.Job {
	at := func(d time.Duration) time.Time {
		if d == noTime {
			return time.Time{}
		}
		return t0.Add(d)
	}
	j := slurm.Job{ID: q.id, Partition: q.partition, State: q.state, SubmitTime: at(q.submit),
		StartTime: at(q.start), NodeList: q.nodes, ArrayTaskID: -1}
	if q.requeued {
		j.StateFlags = []string{"REQUEUED"}
	}
	if q.arrayJob != 0 {
		j.ArrayJobID, j.ArrayTaskID = uint32(q.arrayJob), q.arrTask
	}
	return j
}

// poll is one snapshot: the jobs as listed, fetched at t0+fetched.
type poll struct {
	name    string
	fetched time.Duration
	jobs    []qjob
	// restart: a new exporter process (a new collector) reads this poll.
	restart bool
	// want is each partition's count and sum of waits, "" when none;
	// buckets names the non-empty cumulative buckets as le:count.
	want map[string]string
}

func snapshotAt(fetched time.Duration, jobs []qjob) *slurm.Snapshot {
	snap := &slurm.Snapshot{Taken: t0.Add(fetched), Resources: map[slurm.Resource]slurm.ResourceStatus{
		ResourceJobs: {OK: true, LastSuccess: t0.Add(fetched)}}}
	for _, q := range jobs {
		snap.Jobs = append(snap.Jobs, q.job())
	}
	return snap
}

// histograms reads the queue-wait histograms of a jobs collector's page as
// "count=N sum=S le=B:C ..." per partition (only buckets that changed
// from the one below).
func histograms(t *testing.T, c collectors.Collector) map[string]string {
	t.Helper()
	set, err := c.(collectors.FamilySetCollector).FamilySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, mf := range set.Families() {
		if mf.GetName() != "jobscope_slurm_jobs_queue_wait_seconds" {
			continue
		}
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("type %s", mf.GetType())
		}
		for _, m := range mf.Metric {
			h := m.GetHistogram()
			s := fmt.Sprintf("count=%d sum=%g", h.GetSampleCount(), h.GetSampleSum())
			var prev uint64
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() != prev {
					s += fmt.Sprintf(" le=%g:%d", b.GetUpperBound(), b.GetCumulativeCount())
					prev = b.GetCumulativeCount()
				}
			}
			out[m.GetLabel()[0].GetValue()] = s
		}
	}
	return out
}

// TestQueueWaitSequence runs polls through the jobs collector as the
// exporter does (two scrapes per poll, the second served from the cache)
// and checks the histograms after each.
func TestQueueWaitSequence(t *testing.T) {
	const m, h = time.Minute, time.Hour
	s := time.Second
	// Jobs as they appear over the polls below. Windows (fetch minus the
	// 30s lag): poll 1 opens at t0-30s; poll 2 counts (t0-30s, t0+30s];
	// poll 3 (t0+30s, t0+90s]; poll 4 repeats poll 3's fetch; poll 5
	// counts (t0+90s, t0+150s].
	running := qjob{id: 1, partition: "gpu", state: "RUNNING", submit: -h, start: -10 * m, nodes: "n1"}
	startedIn2 := qjob{id: 2, partition: "gpu", state: "RUNNING", submit: -5 * m, start: 10 * s, nodes: "n2"}
	finishedIn2 := qjob{id: 3, partition: "cpu", state: "COMPLETED", submit: -2 * m, start: -20 * s, nodes: "n3"}
	pending := qjob{id: 4, partition: "gpu", state: "PENDING", submit: -m, start: 20 * s} // start: expected
	cancelledPending := qjob{id: 5, partition: "cpu", state: "CANCELLED", submit: -m, start: 5 * s}
	lateIn2 := qjob{id: 6, partition: "gpu", state: "RUNNING", submit: 40 * s, start: 50 * s, nodes: "n4"}
	noSubmit := qjob{id: 7, partition: "gpu", state: "RUNNING", submit: noTime, start: 15 * s, nodes: "n5"}
	negative := qjob{id: 8, partition: "cpu", state: "RUNNING", submit: 20 * s, start: 10 * s, nodes: "n6"}
	// An array: tasks split off as they start, each its own job with the
	// array's submit time; the pending record is never counted.
	task0 := qjob{id: 10, partition: "gpu", state: "COMPLETED", submit: -3 * h, start: 60 * s, nodes: "n1", arrayJob: 9, arrTask: 0}
	task1 := qjob{id: 11, partition: "gpu", state: "RUNNING", submit: -3 * h, start: 100 * s, nodes: "n2", arrayJob: 9, arrTask: 1}
	arrayRest := qjob{id: 9, partition: "gpu", state: "PENDING", submit: -3 * h, start: noTime, arrayJob: 9}
	// A job that ran, was requeued (pending again, its last start still
	// listed) and starts again: Slurm gives it a new submit time at the
	// requeue, so its second start counts the wait since then.
	firstRun := qjob{id: 12, partition: "big", state: "RUNNING", submit: -2 * h, start: -h, nodes: "n7"}
	requeued := qjob{id: 12, partition: "big", state: "PENDING", requeued: true, submit: 70 * s, start: -h}
	secondRun := qjob{id: 12, partition: "big", state: "RUNNING", submit: 70 * s, start: 120 * s, nodes: "n8"}

	polls := []poll{
		{name: "first poll counts nothing", fetched: 0,
			jobs: []qjob{running, finishedIn2, firstRun, pending},
			want: map[string]string{"gpu": "count=0 sum=0", "cpu": "count=0 sum=0", "big": "count=0 sum=0"}},
		{name: "starts since the first window, finished ones too", fetched: 60 * s,
			jobs: []qjob{running, startedIn2, finishedIn2, pending, cancelledPending, lateIn2, noSubmit, negative, firstRun, arrayRest},
			// startedIn2 waited 310s; finishedIn2 (100s) started at -20s,
			// after the first window closed; negative's wait is 0.
			want: map[string]string{"gpu": "count=1 sum=310 le=900:1", "cpu": "count=2 sum=100 le=10:1 le=300:2", "big": "count=0 sum=0"}},
		{name: "no double count; the late start now; array tasks; requeue", fetched: 120 * s,
			jobs: []qjob{running, startedIn2, finishedIn2, pending, cancelledPending, lateIn2, noSubmit, negative, task0, task1, arrayRest, requeued},
			want: map[string]string{"gpu": "count=3 sum=11180 le=10:1 le=900:2 le=14400:3", "cpu": "count=2 sum=100 le=10:1 le=300:2", "big": "count=0 sum=0"}},
		{name: "failed jobs fetch: same data, same fetch time", fetched: 120 * s,
			jobs: []qjob{running, startedIn2, finishedIn2, pending, lateIn2, task0, task1, arrayRest, requeued},
			want: map[string]string{"gpu": "count=3 sum=11180 le=10:1 le=900:2 le=14400:3", "cpu": "count=2 sum=100 le=10:1 le=300:2", "big": "count=0 sum=0"}},
		{name: "the second array task and the requeued job's second start", fetched: 180 * s,
			jobs: []qjob{running, startedIn2, lateIn2, task1, secondRun},
			want: map[string]string{"gpu": "count=4 sum=22080 le=10:1 le=900:2 le=14400:4", "cpu": "count=2 sum=100 le=10:1 le=300:2", "big": "count=1 sum=50 le=60:1"}},
		{name: "restart: a new process counts nothing of what is listed", fetched: 240 * s, restart: true,
			jobs: []qjob{running, startedIn2, lateIn2, task1, secondRun},
			want: map[string]string{"gpu": "count=0 sum=0", "big": "count=0 sum=0"}},
		{name: "after the restart, only new starts", fetched: 300 * s,
			jobs: []qjob{running, startedIn2, lateIn2, task1, secondRun,
				{id: 20, partition: "gpu", state: "RUNNING", submit: 100 * s, start: 250 * s, nodes: "n9"}},
			want: map[string]string{"gpu": "count=1 sum=150 le=300:1", "big": "count=0 sum=0"}},
	}
	var current *slurm.Snapshot
	var c collectors.Collector
	for i, p := range polls {
		if i == 0 || p.restart {
			var err error
			if c, err = newJobsCollector(Deps{Snapshot: func() *slurm.Snapshot { return current }}); err != nil {
				t.Fatal(err)
			}
		}
		current = snapshotAt(p.fetched, p.jobs)
		for scrape := range 2 {
			got := histograms(t, c)
			if !mapsEqual(got, p.want) {
				t.Errorf("poll %d (%s), scrape %d:\n got %v\nwant %v", i+1, p.name, scrape+1, got, p.want)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestQueueWaitRebuildCountsOnce: building the same snapshot again (a
// released set rebuilt, freshness flipping) adds nothing.
func TestQueueWaitRebuildCountsOnce(t *testing.T) {
	q := newQueueWait()
	jobs := []qjob{{id: 1, partition: "gpu", state: "RUNNING", submit: 0, start: 40 * time.Second, nodes: "n1"}}
	page := func(snap *slurm.Snapshot) string {
		b := collectors.NewFamilyBuilder()
		q.observe(b, snap)
		mfs, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		h := mfs[0].Metric[0].GetHistogram()
		return fmt.Sprint(h.GetSampleCount(), h.GetSampleSum())
	}
	page(snapshotAt(0, jobs))
	second := snapshotAt(time.Minute+10*time.Second, jobs)
	for range 3 {
		if got := page(second); got != "1 40" {
			t.Errorf("after building the second snapshot again: %s, want 1 40", got)
		}
	}
	// A clock stepped back: nothing counted twice.
	if got := page(snapshotAt(30*time.Second, jobs)); got != "1 40" {
		t.Errorf("after a clock step back: %s, want 1 40", got)
	}
}

// TestOldestPendingSubmit: the oldest known submit time per partition
// label, a job pending in several partitions under the label Slurm gives
// it ("a,b"), as jobscope_slurm_jobs_pending counts it.
func TestOldestPendingSubmit(t *testing.T) {
	const m = time.Minute
	snap := snapshotAt(0, []qjob{
		{id: 1, partition: "cpu", state: "PENDING", submit: -5 * m, start: noTime},
		{id: 2, partition: "cpu", state: "PENDING", submit: -9 * m, start: 3 * m}, // expected start: irrelevant
		{id: 3, partition: "cpu", state: "RUNNING", submit: -60 * m, start: -m, nodes: "n1"},
		{id: 4, partition: "gpu,cpu", state: "PENDING", submit: -2 * m, start: noTime},
		{id: 5, partition: "gpu", state: "PENDING", submit: noTime, start: noTime}, // unknown: no series
	})
	c, err := newJobsCollector(Deps{Snapshot: func() *slurm.Snapshot { return snap }})
	if err != nil {
		t.Fatal(err)
	}
	set, err := c.(collectors.FamilySetCollector).FamilySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range set.Families() {
		switch mf.GetName() {
		case "jobscope_slurm_jobs_pending_oldest_submit_timestamp_seconds", "jobscope_slurm_jobs_pending":
			for _, m := range mf.Metric {
				got = append(got, fmt.Sprintf("%s %s %g", strings.TrimPrefix(mf.GetName(), "jobscope_slurm_jobs_pending"),
					m.GetLabel()[0].GetValue(), m.GetGauge().GetValue()))
			}
		}
	}
	want := []string{
		" cpu 2", " gpu 1", " gpu,cpu 1",
		fmt.Sprintf("_oldest_submit_timestamp_seconds cpu %g", unixSeconds(t0.Add(-9*m))),
		fmt.Sprintf("_oldest_submit_timestamp_seconds gpu,cpu %g", unixSeconds(t0.Add(-2*m))),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
