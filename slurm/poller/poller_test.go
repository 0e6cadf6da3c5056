package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"jobscope/slurm"
	"jobscope/test/testkit"
)

// fakeSource is the test boundary: a Source whose answers and delays the test
// controls, counting calls per method.
type fakeSource struct {
	mu    sync.Mutex
	errs  map[slurm.Resource]error
	delay map[slurm.Resource]time.Duration
	// ignoreCtx makes a delayed method sleep through cancellation, like a
	// badly behaved source would.
	ignoreCtx bool
	jobs      []slurm.Job
	calls     map[slurm.Resource]*atomic.Int64
}

func newFake() *fakeSource {
	f := &fakeSource{errs: map[slurm.Resource]error{}, delay: map[slurm.Resource]time.Duration{}, calls: map[slurm.Resource]*atomic.Int64{}}
	for _, r := range slurm.Resources {
		f.calls[r] = &atomic.Int64{}
	}
	f.jobs = []slurm.Job{{ID: 1, State: "RUNNING"}}
	return f
}

func (f *fakeSource) set(res slurm.Resource, err error, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[res], f.delay[res] = err, d
}

func (f *fakeSource) do(ctx context.Context, res slurm.Resource) error {
	f.calls[res].Add(1)
	f.mu.Lock()
	err, d, ign := f.errs[res], f.delay[res], f.ignoreCtx
	f.mu.Unlock()
	if d > 0 {
		if ign {
			time.Sleep(d)
		} else {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return err
}

func (f *fakeSource) Name() string { return "fake" }
func (f *fakeSource) Info(ctx context.Context) (slurm.Info, error) {
	return slurm.Info{Release: "22.05.8"}, f.do(ctx, slurm.ResourceInfo)
}
func (f *fakeSource) Jobs(ctx context.Context) ([]slurm.Job, error) {
	if err := f.do(ctx, slurm.ResourceJobs); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jobs, nil
}
func (f *fakeSource) Nodes(ctx context.Context) ([]slurm.Node, error) {
	return []slurm.Node{{Name: "node1"}}, f.do(ctx, slurm.ResourceNodes)
}
func (f *fakeSource) Partitions(ctx context.Context) ([]slurm.Partition, error) {
	return []slurm.Partition{{Name: "gpu"}}, f.do(ctx, slurm.ResourcePartitions)
}
func (f *fakeSource) Diag(ctx context.Context) (*slurm.Diag, error) {
	return &slurm.Diag{JobsSubmitted: 3}, f.do(ctx, slurm.ResourceDiag)
}
func (f *fakeSource) Shares(ctx context.Context) ([]slurm.Share, error) {
	if err := f.do(ctx, slurm.ResourceShares); err != nil {
		return nil, err
	}
	return []slurm.Share{{Account: "root"}}, nil
}

func newLogger() (*slog.Logger, *testkit.SyncBuffer) {
	b := &testkit.SyncBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

func TestSnapshotBeforeFirstPoll(t *testing.T) {
	p := New(newFake(), time.Minute, nil, Options{})
	s := p.Snapshot()
	if s == nil {
		t.Fatal("nil snapshot before first poll")
	}
	for _, r := range slurm.Resources {
		st, ok := s.Resources[r]
		if !ok || st.OK || st.Err == nil {
			t.Errorf("resource %s before first poll: %+v, want present and not OK", r, st)
		}
	}
}

func TestOneCallPerResourcePerPoll(t *testing.T) {
	f := newFake()
	p := New(f, time.Minute, nil, Options{})
	for i := 1; i <= 3; i++ {
		p.PollNow(context.Background())
		// Scrapes must not cause calls.
		for range 10 {
			_ = p.Snapshot()
		}
		for _, r := range slurm.Resources {
			if got := f.calls[r].Load(); got != int64(i) {
				t.Fatalf("after %d polls %s called %d times", i, r, got)
			}
		}
	}
	s := p.Snapshot()
	if len(s.Jobs) != 1 || len(s.Nodes) != 1 || s.Diag == nil || len(s.Shares) != 1 || s.Info.Release == "" {
		t.Fatalf("snapshot not filled: %+v", s)
	}
	for _, r := range slurm.Resources {
		if !s.Resources[r].OK || s.Resources[r].LastSuccess.IsZero() {
			t.Errorf("%s status %+v", r, s.Resources[r])
		}
	}
}

func TestScrapeNeverWaitsOnSlowSource(t *testing.T) {
	f := newFake()
	p := New(f, time.Minute, nil, Options{Timeout: 5 * time.Second})
	p.PollNow(context.Background())
	f.set(slurm.ResourceJobs, nil, 2*time.Second)
	done := make(chan struct{})
	go func() { p.PollNow(context.Background()); close(done) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	for range 1000 {
		if p.Snapshot() == nil {
			t.Fatal("nil snapshot")
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Snapshot blocked %v during a slow poll", d)
	}
	<-done
}

func TestPollDeadlineWithSourceIgnoringContext(t *testing.T) {
	f := newFake()
	f.ignoreCtx = true
	p := New(f, time.Minute, nil, Options{Timeout: 200 * time.Millisecond})
	p.PollNow(context.Background())
	f.set(slurm.ResourceDiag, nil, 2*time.Second)
	start := time.Now()
	s := p.PollNow(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Fatalf("poll took %v despite a 200ms deadline", d)
	}
	st := s.Resources[slurm.ResourceDiag]
	if st.OK || !errors.Is(st.Err, context.DeadlineExceeded) {
		t.Fatalf("diag status %+v, want deadline error", st)
	}
	if s.Diag == nil || !s.Resources[slurm.ResourceJobs].OK {
		t.Fatal("other resources or old diag lost")
	}
}

func TestFailureKeepsOldDataAndRecovers(t *testing.T) {
	f := newFake()
	log, buf := newLogger()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() }
	p := New(f, time.Minute, log, Options{Now: clock})
	first := p.PollNow(context.Background())
	okAt := first.Resources[slurm.ResourceJobs].LastSuccess

	boom := errors.New("connection refused")
	f.set(slurm.ResourceJobs, boom, 0)
	for range 5 {
		advance()
		p.PollNow(context.Background())
	}
	s := p.Snapshot()
	st := s.Resources[slurm.ResourceJobs]
	if st.OK || !errors.Is(st.Err, boom) || !st.LastSuccess.Equal(okAt) {
		t.Fatalf("jobs status %+v, want failed with LastSuccess %v", st, okAt)
	}
	if len(s.Jobs) != 1 || s.Jobs[0].ID != 1 {
		t.Fatalf("old jobs not kept: %+v", s.Jobs)
	}
	if !s.Resources[slurm.ResourceNodes].OK || !s.Resources[slurm.ResourceNodes].LastSuccess.After(okAt) {
		t.Fatalf("nodes should keep succeeding: %+v", s.Resources[slurm.ResourceNodes])
	}
	if n := strings.Count(buf.String(), "slurm request failed"); n != 1 {
		t.Fatalf("logged %d failure lines for 5 identical failures, want 1:\n%s", n, buf)
	}

	// A different error is worth a new line.
	f.set(slurm.ResourceJobs, errors.New("HTTP 500"), 0)
	p.PollNow(context.Background())
	if n := strings.Count(buf.String(), "slurm request failed"); n != 2 {
		t.Fatalf("changed error not logged:\n%s", buf)
	}

	f.set(slurm.ResourceJobs, nil, 0)
	f.mu.Lock()
	f.jobs = []slurm.Job{{ID: 2}, {ID: 3}}
	f.mu.Unlock()
	advance()
	s = p.PollNow(context.Background())
	if !s.Resources[slurm.ResourceJobs].OK || len(s.Jobs) != 2 {
		t.Fatalf("no recovery: %+v %+v", s.Resources[slurm.ResourceJobs], s.Jobs)
	}
	if n := strings.Count(buf.String(), "slurm request recovered"); n != 1 {
		t.Fatalf("recovery logged %d times:\n%s", n, buf)
	}
}

func TestNotSupportedLoggedOnce(t *testing.T) {
	f := newFake()
	log, buf := newLogger()
	f.set(slurm.ResourceShares, fmt.Errorf("shares: %w", slurm.ErrNotSupported), 0)
	p := New(f, time.Minute, log, Options{})
	for range 4 {
		p.PollNow(context.Background())
	}
	if n := strings.Count(buf.String(), "not available"); n != 1 {
		t.Fatalf("not-supported logged %d times:\n%s", n, buf)
	}
	if strings.Contains(buf.String(), "request failed") {
		t.Fatalf("not-supported logged as failure:\n%s", buf)
	}
	st := p.Snapshot().Resources[slurm.ResourceShares]
	if st.OK || !errors.Is(st.Err, slurm.ErrNotSupported) {
		t.Fatalf("shares status %+v", st)
	}
}

func TestConcurrencyBounded(t *testing.T) {
	f := newFake()
	var cur, peak atomic.Int64
	for _, r := range slurm.Resources {
		f.set(r, nil, 30*time.Millisecond)
	}
	src := &countingSource{fakeSource: f, cur: &cur, peak: &peak}
	p := New(src, time.Minute, nil, Options{Concurrency: 2})
	p.PollNow(context.Background())
	if peak.Load() > 2 {
		t.Fatalf("peak concurrency %d > 2", peak.Load())
	}
}

type countingSource struct {
	*fakeSource
	cur, peak *atomic.Int64
}

func (c *countingSource) enter() func() {
	n := c.cur.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { c.cur.Add(-1) }
}
func (c *countingSource) Info(ctx context.Context) (slurm.Info, error) {
	defer c.enter()()
	return c.fakeSource.Info(ctx)
}
func (c *countingSource) Jobs(ctx context.Context) ([]slurm.Job, error) {
	defer c.enter()()
	return c.fakeSource.Jobs(ctx)
}
func (c *countingSource) Nodes(ctx context.Context) ([]slurm.Node, error) {
	defer c.enter()()
	return c.fakeSource.Nodes(ctx)
}
func (c *countingSource) Partitions(ctx context.Context) ([]slurm.Partition, error) {
	defer c.enter()()
	return c.fakeSource.Partitions(ctx)
}
func (c *countingSource) Diag(ctx context.Context) (*slurm.Diag, error) {
	defer c.enter()()
	return c.fakeSource.Diag(ctx)
}
func (c *countingSource) Shares(ctx context.Context) ([]slurm.Share, error) {
	defer c.enter()()
	return c.fakeSource.Shares(ctx)
}

func TestRunAndTrigger(t *testing.T) {
	f := newFake()
	p := New(f, time.Hour, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
	defer tcancel()
	if err := p.Trigger(tctx); err != nil {
		t.Fatal(err)
	}
	// Run's initial poll plus the triggered one.
	if got := f.calls[slurm.ResourceJobs].Load(); got != 2 {
		t.Fatalf("jobs called %d times, want 2", got)
	}
	cancel()
	<-done
}

func TestTracingSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(rec))
	f := newFake()
	f.set(slurm.ResourceDiag, errors.New("boom"), 0)
	p := New(f, time.Minute, nil, Options{TracerProvider: tp})
	p.PollNow(context.Background())
	spans := rec.Ended()
	var root int
	children := map[string]bool{}
	for _, s := range spans {
		if s.Name() == "slurm.poll" {
			root++
			continue
		}
		children[s.Name()] = true
		var hasRes, hasDur bool
		for _, a := range s.Attributes() {
			hasRes = hasRes || a.Key == "slurm.resource"
			hasDur = hasDur || a.Key == "slurm.duration_seconds"
		}
		if !hasRes || !hasDur {
			t.Errorf("span %s lacks attributes: %v", s.Name(), s.Attributes())
		}
	}
	if root != 1 || len(children) != len(slurm.Resources) {
		t.Fatalf("root spans %d, child spans %v", root, children)
	}
}
