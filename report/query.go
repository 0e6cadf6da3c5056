package report

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
)

// Options say which job to report and how to look for it.
type Options struct {
	JobID    string
	Cluster  string        // the `cluster` label value; empty: any, if the job is in one cluster only
	Lookback time.Duration // how far back to look for an ended job
	Points   int           // points per series (default 200)
	URL      string        // Prometheus's URL, for messages (credentials removed by the caller)
	Now      time.Time     // zero: time.Now()
}

var jobIDPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

const (
	// minRange is the least range a point aggregates: one sample at least
	// at scrape intervals up to a minute.
	minRange = 2 * time.Minute
	// runningSlack: a job whose last sample is newer than this is running,
	// unless Prometheus has already marked its series stale (see running).
	runningSlack = 3 * time.Minute
	// lifeSeries are the series whose existence is the job's life on a node
	// or in Slurm: the cluster exporter's info, the GPU holders, the cgroup.
	lifeSeries = "jobscope_slurm_job_info|jobscope_gpu_tenant_info|jobscope_job_cpu_seconds_total"
)

// Build finds the job in Prometheus, fetches its series over its life and
// returns the report with its findings. Every query must succeed.
func Build(ctx context.Context, api v1.API, opts Options) (*Report, error) {
	if !jobIDPattern.MatchString(opts.JobID) {
		return nil, &UsageError{Msg: fmt.Sprintf("malformed job ID %q: a Slurm job ID is a number (an array task has its own, see squeue -o %%A)", opts.JobID)}
	}
	if opts.Lookback <= 0 {
		opts.Lookback = 30 * 24 * time.Hour
	}
	if opts.Points <= 0 {
		opts.Points = 200
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	f := &fetcher{api: api, url: opts.URL}

	// The job's series anywhere in the lookback, and which cluster holds them.
	jobSel := fmt.Sprintf(`job_id=%q`, opts.JobID)
	if opts.Cluster != "" {
		jobSel += fmt.Sprintf(`,cluster=%q`, opts.Cluster)
	}
	sets, _, _, err := api.Series(ctx, []string{`{__name__=~"` + lifeSeries + `",` + jobSel + `}`}, now.Add(-opts.Lookback), now)
	if err != nil {
		return nil, f.fail("find the job's series", err)
	}
	if len(sets) == 0 {
		return nil, &NotFoundError{JobID: opts.JobID, URL: opts.URL, Lookback: opts.Lookback, Cluster: opts.Cluster}
	}
	cluster := opts.Cluster
	if cluster == "" {
		seen := map[string]bool{}
		for _, s := range sets {
			seen[string(s["cluster"])] = true
		}
		if len(seen) > 1 {
			return nil, &UsageError{Msg: fmt.Sprintf("job %s is in several clusters (%s): choose one with --cluster", opts.JobID, strings.Join(sortedKeys(seen), ", "))}
		}
		for c := range seen {
			cluster = c
		}
	}
	// From here every selector names the cluster ("" matches series
	// without the label, as on single-cluster sites).
	f.cl = fmt.Sprintf(`cluster=%q`, cluster)
	f.job = fmt.Sprintf(`job_id=%q,%s`, opts.JobID, f.cl)

	ws, we, err := f.life(ctx, now, opts.Lookback)
	if err != nil {
		return nil, err
	}
	if ws.IsZero() {
		// The series exist (the series API said so) but hold no sample in
		// the lookback: their samples are older than it.
		return nil, &NotFoundError{JobID: opts.JobID, URL: opts.URL, Lookback: opts.Lookback, Cluster: opts.Cluster}
	}
	f.setGrid(ws, we, opts.Points)

	r := &Report{
		SchemaVersion: SchemaVersion,
		GeneratedAt:   now.UTC(),
		Prometheus:    opts.URL,
		Cluster:       cluster,
		Window: Window{Start: ws.UTC(), End: we.UTC(), StepSeconds: f.step.Seconds(),
			RangeSeconds: f.rng.Seconds()},
		Nodes:    []Node{},
		Missing:  []string{},
		Findings: []Finding{},
	}
	if err := f.fetch(ctx, r, opts.JobID, now); err != nil {
		return nil, err
	}
	r.Findings = Judge(r)
	return r, nil
}

// fetcher runs the queries of one report.
type fetcher struct {
	api v1.API
	url string
	cl  string // cluster matcher
	job string // job_id and cluster matchers

	ws, we     time.Time // the job's first and last sample
	gridStart  time.Time // first grid point (<= ws); the grid ends at we
	step, rng  time.Duration
	gaugeFrom  time.Time // first grid point whose range lies inside the life
	rangeParam v1.Range
}

func (f *fetcher) fail(what string, err error) error {
	return &PrometheusError{URL: f.url, What: what, Err: err}
}

// life returns the first and last sample time of the job's life series: a
// coarse pass over the lookback finds the steps holding samples, then the
// raw samples of the first and last such step give the exact times.
func (f *fetcher) life(ctx context.Context, now time.Time, lookback time.Duration) (time.Time, time.Time, error) {
	coarse := lookback / 500
	coarse = coarse.Truncate(time.Second) + time.Second
	if coarse < time.Minute {
		coarse = time.Minute
	}
	names := strings.Split(lifeSeries, "|")
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("count(count_over_time(%s{%s}[%s]))", n, f.job, promDur(coarse))
	}
	// The grid ends at now, so the newest samples are in its last step.
	n := int64(math.Ceil(float64(lookback) / float64(coarse)))
	m, err := f.matrix(ctx, strings.Join(parts, " or "), v1.Range{Start: now.Add(-time.Duration(n) * coarse), End: now, Step: coarse})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	var first, last model.Time
	for _, s := range m {
		for _, p := range s.Values {
			if first == 0 || p.Timestamp < first {
				first = p.Timestamp
			}
			if p.Timestamp > last {
				last = p.Timestamp
			}
		}
	}
	if first == 0 {
		return time.Time{}, time.Time{}, nil
	}
	raw := fmt.Sprintf(`{__name__=~%q,%s}[%s]`, lifeSeries, f.job, promDur(coarse))
	edge := func(at model.Time, pick func(a, b model.Time) bool) (model.Time, error) {
		v, _, _, err := f.api.Query(ctx, raw, at.Time())
		if err != nil {
			return 0, f.fail("find the job's first and last sample", err)
		}
		var best model.Time
		if mm, ok := v.(model.Matrix); ok {
			for _, s := range mm {
				for _, p := range s.Values {
					if best == 0 || pick(p.Timestamp, best) {
						best = p.Timestamp
					}
				}
			}
		}
		return best, nil
	}
	ws, err := edge(first, func(a, b model.Time) bool { return a < b })
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	we, err := edge(last, func(a, b model.Time) bool { return a > b })
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if ws == 0 || we == 0 {
		return time.Time{}, time.Time{}, nil
	}
	return ws.Time(), we.Time(), nil
}

// running says whether the job still runs at now. A last sample older
// than runningSlack means ended. A newer one means running, unless every
// life series of the job is already stale at now (it left its target's
// page: Prometheus wrote a staleness marker) while each target that served
// it is up and, for the cluster exporter, reaching Slurm: then the job has
// ended, and the report says so a scrape or two after it did rather than
// runningSlack later. A target down or failing keeps the slack rule, since
// its series went stale with the outage, not with the job.
func (f *fetcher) running(ctx context.Context, now time.Time) (bool, error) {
	if now.Sub(f.we) > runningSlack {
		return false, nil
	}
	sel := fmt.Sprintf(`{__name__=~%q,%s}`, lifeSeries, f.job)
	live, err := f.vector(ctx, "count("+sel+")", now)
	if err != nil || len(live) > 0 {
		return true, err
	}
	// The targets that served the job's last samples (a range selector
	// skips staleness markers), and those healthy now.
	served, err := f.vector(ctx, fmt.Sprintf("count by (job, instance) (last_over_time(%s[%s]))", sel, promDur(runningSlack)), now)
	if err != nil {
		return true, err
	}
	healthy, err := f.vector(ctx, fmt.Sprintf("up{%s} == 1 unless on (job, instance) jobscope_slurm_up{%s} != 1", f.cl, f.cl), now)
	if err != nil {
		return true, err
	}
	ok := map[[2]model.LabelValue]bool{}
	for _, s := range healthy {
		ok[[2]model.LabelValue{s.Metric["job"], s.Metric["instance"]}] = true
	}
	if len(served) == 0 {
		return true, nil
	}
	for _, s := range served {
		if !ok[[2]model.LabelValue{s.Metric["job"], s.Metric["instance"]}] {
			return true, nil
		}
	}
	return false, nil
}

// setGrid picks the step for about points points over [ws, we] and lays
// the grid so that its last point is we: a point never reaches past the
// job's last sample (into the next job on the same GPU).
func (f *fetcher) setGrid(ws, we time.Time, points int) {
	f.ws, f.we = ws, we
	span := we.Sub(ws)
	f.step = (span / time.Duration(points)).Truncate(time.Second)
	if f.step*time.Duration(points) < span {
		f.step += time.Second
	}
	if f.step < time.Second {
		f.step = time.Second
	}
	f.rng = f.step
	if f.rng < minRange {
		f.rng = minRange
	}
	n := int64(math.Ceil(float64(span) / float64(f.step)))
	f.gridStart = we.Add(-time.Duration(n) * f.step)
	// A gauge point aggregates (t-rng, t]: only points whose whole range is
	// inside the life count, unless the job is shorter than one range.
	f.gaugeFrom = ws.Add(f.rng)
	if f.gaugeFrom.After(we) {
		f.gaugeFrom = ws
	}
	f.rangeParam = v1.Range{Start: f.gridStart, End: we, Step: f.step}
}

func (f *fetcher) matrix(ctx context.Context, expr string, rg v1.Range) (model.Matrix, error) {
	v, _, _, err := f.api.QueryRange(ctx, expr, rg)
	if err != nil {
		return nil, f.fail("query "+expr, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, f.fail("query "+expr, fmt.Errorf("answer is a %s, not a matrix", v.Type()))
	}
	return m, nil
}

func (f *fetcher) vector(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	v, _, _, err := f.api.Query(ctx, expr, at)
	if err != nil {
		return nil, f.fail("query "+expr, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, f.fail("query "+expr, fmt.Errorf("answer is a %s, not a vector", v.Type()))
	}
	return vec, nil
}

// series is one fetched series: its labels and values by grid time (ms).
type series struct {
	labels model.Metric
	values map[model.Time]float64
	// base is a counter's value at the job's start (last sample at or
	// before it); hasBase false when the series did not exist yet.
	base    float64
	hasBase bool
}

// query is one fetch: fn is the _over_time function applied per point;
// counters also get their value at the job's start.
type query struct {
	name, metric, sel, fn string
	counter               bool
}

// run fetches the queries concurrently (at most four at a time); results
// by query name.
func (f *fetcher) run(ctx context.Context, qs []query) (map[string][]*series, error) {
	out := make(map[string][]*series, len(qs))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, q := range qs {
		g.Go(func() error {
			expr := fmt.Sprintf("%s(%s{%s}[%s])", q.fn, q.metric, q.sel, promDur(f.rng))
			m, err := f.matrix(gctx, expr, f.rangeParam)
			if err != nil {
				return err
			}
			byKey := map[model.Fingerprint]*series{}
			var list []*series
			for _, s := range m {
				ss := &series{labels: s.Metric, values: map[model.Time]float64{}}
				for _, p := range s.Values {
					ss.values[p.Timestamp] = float64(p.Value)
				}
				byKey[s.Metric.Fingerprint()] = ss
				list = append(list, ss)
			}
			if q.counter {
				vec, err := f.vector(gctx, fmt.Sprintf("last_over_time(%s{%s}[%s])", q.metric, q.sel, promDur(f.rng)), f.ws)
				if err != nil {
					return err
				}
				for _, smp := range vec {
					if ss := byKey[smp.Metric.Fingerprint()]; ss != nil {
						ss.base, ss.hasBase = float64(smp.Value), true
					}
				}
			}
			mu.Lock()
			out[q.name] = list
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// gaugeTimes are the grid points whose range lies inside the life.
func (f *fetcher) gaugeTimes() []model.Time {
	var ts []model.Time
	for t := f.gridStart; !t.After(f.we); t = t.Add(f.step) {
		if !t.Before(f.gaugeFrom) {
			ts = append(ts, model.TimeFromUnixNano(t.UnixNano()))
		}
	}
	return ts
}

// gaugeValues are a series' values at the gauge points, in time order.
func (f *fetcher) gaugeValues(s *series) []float64 {
	from := model.TimeFromUnixNano(f.gaugeFrom.UnixNano())
	var ts []model.Time
	for t := range s.values {
		if t >= from {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	vs := make([]float64, 0, len(ts))
	for _, t := range ts {
		if v := s.values[t]; !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	return vs
}

// increase is a counter's rise over the life: from its value at the
// start (0 for counters that start with the job, fromZero, when the
// series appeared later) to its last value, a decrease counting as a reset.
func (f *fetcher) increase(s *series, fromZero bool) (float64, bool) {
	ws := model.TimeFromUnixNano(f.ws.UnixNano())
	var ts []model.Time
	for t := range s.values {
		if t > ws {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	prev, ok := s.base, s.hasBase
	if !ok && fromZero {
		prev, ok = 0, true
	}
	if !ok {
		if len(ts) == 0 {
			return 0, false
		}
		prev, ts = s.values[ts[0]], ts[1:]
	}
	var inc float64
	for _, t := range ts {
		v := s.values[t]
		if v >= prev {
			inc += v - prev
		} else {
			inc += v // reset
		}
		prev = v
	}
	return inc, true
}

// promDur formats d as a PromQL duration in whole seconds.
func promDur(d time.Duration) string {
	return fmt.Sprintf("%ds", int64(math.Ceil(d.Seconds())))
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// regexAlt is a PromQL regex matching exactly the given values.
func regexAlt(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(q, "|")
}
