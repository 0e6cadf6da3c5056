package slurm

import (
	"slices"
	"sync"
	"time"

	"jobscope/collectors"
	"jobscope/slurm"
)

// queueWaitBuckets are the upper bounds of the queue-wait histogram, in
// seconds: 10s, 30s, 1m, 5m, 15m, 30m, 1h, 2h, 4h, 8h, 12h, 1d, 2d, 4d, 7d.
// Slurm's times are whole seconds and its schedulers run on submit and
// then every bf_interval (30s) or sched_interval (60s): under 10s is
// "started at submit", up to a minute one scheduling cycle. From there
// the bounds grow by two to three times up to a week, the longest time
// limit most partitions allow; longer waits count in +Inf only. Fifteen
// bounds keep the histogram at 18 series per partition.
var queueWaitBuckets = []float64{
	10, 30, 60, 5 * 60, 15 * 60, 30 * 60,
	3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600,
	86400, 2 * 86400, 4 * 86400, 7 * 86400,
}

// queueWaitLag is how far behind the jobs fetch the counted window ends.
// A job that starts after slurmctld answered, but before the exporter's
// clock says the fetch ended, is not in that answer; a slurmctld clock
// behind the exporter's makes a start look earlier than it was. Either
// would put a start in a window whose job list does not hold it, and it
// would never be counted. Ending the window 30s back counts it one poll
// later instead, from a list that still holds it: running jobs are listed,
// and finished ones for MinJobAge (300s by default), which must exceed
// this lag plus the poll interval.
const queueWaitLag = 30 * time.Second

// queueWait counts the queue wait of jobs as they start, per partition: a
// counter-style histogram kept across polls. Each poll counts the jobs
// whose start time falls in (end of the last counted window, end of this
// one], the window ending queueWaitLag before the jobs were fetched.
// Windows do not overlap, so a start is counted once whatever number of
// polls list the job, and the state is the histograms alone (no set of
// counted job IDs that would grow with the cluster's throughput).
//
// The first snapshot a process sees only opens the first window: the jobs
// that started before it (running jobs, finished ones still listed) are
// not counted, so a restart is a counter reset, not a burst of old waits.
type queueWait struct {
	desc *collectors.FamilyDesc

	// mu guards the state: a collector builds one snapshot at a time, but
	// the rare rebuild of a released set runs beside a new build.
	mu sync.Mutex
	// counted is the end of the last counted window, zero before the
	// first snapshot.
	counted time.Time
	// hists are the partitions' histograms, names their keys, sorted.
	hists map[string]*waitHistogram
	names []string
	// scratch holds the cumulative bucket counts of one series as it is
	// added (AddHistogram copies them).
	scratch []uint64
}

type waitHistogram struct {
	count uint64
	sum   float64
	// buckets[i] counts the waits in (bound i-1, bound i]; the last entry
	// those over every bound.
	buckets []uint64
}

func newQueueWait() *queueWait {
	return &queueWait{
		desc: collectors.NewHistogramDesc(Namespace+"_jobs_queue_wait_seconds",
			"Queue wait (start time minus submit time) of jobs as they start, by the partition they start in; counted once per start, from the exporter's first poll on (a requeued job waits again from its requeue).",
			queueWaitBuckets, "partition"),
		hists:   map[string]*waitHistogram{},
		scratch: make([]uint64, len(queueWaitBuckets)),
	}
}

// started is true for a job that started: not pending (whose start time is
// the scheduler's expected start), with a start time, and with nodes (a
// job cancelled while pending has its start time set to the cancel time
// but was never allocated any).
func started(j *slurm.Job) bool {
	return j.State != "PENDING" && !j.StartTime.IsZero() && j.NodeList != ""
}

// observe counts the jobs of snap that started in the window snap closes
// and adds the histograms to b. A snapshot whose window is already counted
// (a rebuild, a failed jobs fetch) counts nothing and adds the histograms
// as they are.
func (q *queueWait) observe(b *collectors.FamilyBuilder, snap *slurm.Snapshot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	end := snap.Resources[ResourceJobs].LastSuccess.Add(-queueWaitLag)
	from := q.counted
	first := from.IsZero()
	count := !first && end.After(from)
	if first || count {
		// A clock stepped back keeps the window where it was: no start
		// is counted twice; those in the stepped-back stretch are lost.
		q.counted = end
	}
	var last string
	var h *waitHistogram
	for i := range snap.Jobs {
		j := &snap.Jobs[i]
		if !started(j) {
			continue
		}
		// Every partition jobs start in has a series, from 0, so that
		// rate() sees its first counted start.
		if h == nil || j.Partition != last {
			last, h = j.Partition, q.histogram(j.Partition)
		}
		if !count || !j.StartTime.After(from) || j.StartTime.After(end) || j.SubmitTime.IsZero() {
			continue
		}
		h.add(max(0, j.StartTime.Sub(j.SubmitTime).Seconds()))
	}
	for _, p := range q.names {
		h := q.hists[p]
		var cum uint64
		for i := range q.scratch {
			cum += h.buckets[i]
			q.scratch[i] = cum
		}
		b.AddHistogram(q.desc, h.count, h.sum, q.scratch, p)
	}
}

// histogram returns the partition's histogram, created empty.
func (q *queueWait) histogram(partition string) *waitHistogram {
	h := q.hists[partition]
	if h == nil {
		h = &waitHistogram{buckets: make([]uint64, len(queueWaitBuckets)+1)}
		q.hists[partition] = h
		i, _ := slices.BinarySearch(q.names, partition)
		q.names = slices.Insert(q.names, i, partition)
	}
	return h
}

func (h *waitHistogram) add(seconds float64) {
	i, _ := slices.BinarySearch(queueWaitBuckets, seconds)
	h.buckets[i]++
	h.count++
	h.sum += seconds
}
