package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"jobscope/slurm"
)

// Options tunes a Poller; the zero value is usable.
type Options struct {
	// Timeout bounds one whole poll (all requests). Default: the interval,
	// so that polls never pile up.
	Timeout time.Duration
	// Concurrency bounds how many Source calls run at once. Default 3:
	// enough to overlap the large jobs request with the small ones without
	// hitting slurmctld with all six at the same instant.
	Concurrency int
	// TracerProvider, when set, gets one span per poll with a child span
	// per request. Default: a no-op provider.
	TracerProvider trace.TracerProvider
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Poller polls a Source and holds the latest snapshot.
type Poller struct {
	src      slurm.Source
	interval time.Duration
	log      *slog.Logger
	opts     Options
	tracer   trace.Tracer

	snap atomic.Pointer[slurm.Snapshot]

	// trigger asks Run for an immediate poll (PollNow from other goroutines
	// while Run is active).
	trigger chan chan struct{}

	// pollMu serialises polls, so PollNow and Run never overlap and the
	// "previous snapshot" each poll builds on is well defined.
	pollMu sync.Mutex
	// lastErr is the error text last logged per resource: a repeat of the
	// same error is not logged again. Guarded by pollMu.
	lastErr map[slurm.Resource]string
	// notSupportedLogged records resources already reported as not
	// supported. Guarded by pollMu.
	notSupportedLogged map[slurm.Resource]bool
}

// New returns a Poller whose Snapshot is an empty snapshot with every
// resource marked not OK until the first poll completes. A nil logger
// discards logs.
func New(src slurm.Source, interval time.Duration, logger *slog.Logger, opts Options) *Poller {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = interval
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 3
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = noop.NewTracerProvider()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Poller{
		src:                src,
		interval:           interval,
		log:                logger.With("slurm_source", src.Name()),
		opts:               opts,
		tracer:             opts.TracerProvider.Tracer("jobscope/slurm/poller"),
		trigger:            make(chan chan struct{}),
		lastErr:            map[slurm.Resource]string{},
		notSupportedLogged: map[slurm.Resource]bool{},
	}
	empty := &slurm.Snapshot{Source: src.Name(), Resources: map[slurm.Resource]slurm.ResourceStatus{}}
	notYet := errors.New("not polled yet")
	for _, r := range slurm.Resources {
		empty.Resources[r] = slurm.ResourceStatus{OK: false, Err: notYet}
	}
	p.snap.Store(empty)
	return p
}

// Snapshot returns the latest snapshot; never nil, never blocks. Callers
// must treat it as read-only.
func (p *Poller) Snapshot() *slurm.Snapshot { return p.snap.Load() }

// Run polls immediately and then every interval until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	p.PollNow(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.PollNow(ctx)
		case done := <-p.trigger:
			p.PollNow(ctx)
			close(done)
		}
	}
}

// Trigger asks a running Run loop for an immediate poll and waits until it
// finished, or ctx is done. Use PollNow when no Run loop is active.
func (p *Poller) Trigger(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case p.trigger <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// result is what one Source call produced.
type result struct {
	name     slurm.Resource
	err      error
	duration time.Duration
	apply    func(*slurm.Snapshot)
}

// sourceCall is one Source method: it returns how to apply its value to a
// snapshot.
type sourceCall struct {
	name slurm.Resource
	fn   func(context.Context) (func(*slurm.Snapshot), error)
}

// PollNow runs one poll synchronously and publishes its snapshot.
func (p *Poller) PollNow(ctx context.Context) *slurm.Snapshot {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	ctx, span := p.tracer.Start(ctx, "slurm.poll", trace.WithAttributes(attribute.String("slurm.source", p.src.Name())))
	defer span.End()

	results := p.fetch(ctx, p.calls())
	next, failed := p.apply(results)
	if failed > 0 {
		span.SetStatus(codes.Error, "some Slurm requests failed")
	}
	span.SetAttributes(attribute.Int("slurm.failed_requests", failed))
	p.snap.Store(next)
	return next
}

// calls lists the Source methods of one poll, one per resource.
func (p *Poller) calls() []sourceCall {
	return []sourceCall{
		{slurm.ResourceInfo, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Info(ctx)
			return func(s *slurm.Snapshot) { s.Info = v }, err
		}},
		{slurm.ResourceJobs, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Jobs(ctx)
			return func(s *slurm.Snapshot) { s.Jobs = v }, err
		}},
		{slurm.ResourceNodes, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Nodes(ctx)
			return func(s *slurm.Snapshot) { s.Nodes = v }, err
		}},
		{slurm.ResourcePartitions, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Partitions(ctx)
			return func(s *slurm.Snapshot) { s.Partitions = v }, err
		}},
		{slurm.ResourceDiag, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Diag(ctx)
			return func(s *slurm.Snapshot) { s.Diag = v }, err
		}},
		{slurm.ResourceShares, func(ctx context.Context) (func(*slurm.Snapshot), error) {
			v, err := p.src.Shares(ctx)
			return func(s *slurm.Snapshot) { s.Shares = v }, err
		}},
	}
}

// fetch runs the calls, at most Options.Concurrency at once, and returns
// their results in the calls' order; a call without an answer by ctx's
// deadline gets a deadline error.
//
// Results come back over a buffered channel rather than a WaitGroup so
// that a Source ignoring its context cannot hold the poll (and the next
// one) hostage: after the deadline the poll is published without it and
// the straggler's late send lands in the buffer and is dropped.
func (p *Poller) fetch(ctx context.Context, calls []sourceCall) []result {
	ch := make(chan result, len(calls))
	sem := make(chan struct{}, p.opts.Concurrency)
	for _, c := range calls {
		go func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- result{name: c.name, err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			ch <- p.traced(ctx, c)
		}()
	}
	byName := make(map[slurm.Resource]result, len(calls))
	pollStart := p.opts.Now()
collect:
	for range calls {
		select {
		case r := <-ch:
			byName[r.name] = r
		case <-ctx.Done():
			break collect
		}
	}
	results := make([]result, 0, len(calls))
	for _, c := range calls {
		r, ok := byName[c.name]
		if !ok {
			r = result{name: c.name, err: fmt.Errorf("no answer within the poll deadline (%s): %w", p.opts.Timeout, context.DeadlineExceeded), duration: p.opts.Now().Sub(pollStart)}
		}
		results = append(results, r)
	}
	return results
}

// traced runs one call in its own span and times it.
func (p *Poller) traced(ctx context.Context, c sourceCall) result {
	cctx, cspan := p.tracer.Start(ctx, "slurm."+string(c.name), trace.WithAttributes(attribute.String("slurm.resource", string(c.name))))
	defer cspan.End()
	start := p.opts.Now()
	apply, err := p.call(cctx, c.fn)
	d := p.opts.Now().Sub(start)
	cspan.SetAttributes(attribute.Float64("slurm.duration_seconds", d.Seconds()))
	if err != nil && !errors.Is(err, slurm.ErrNotSupported) {
		cspan.RecordError(err)
		cspan.SetStatus(codes.Error, err.Error())
	}
	return result{name: c.name, err: err, duration: d, apply: apply}
}

// apply builds the next snapshot from the previous one and the results: a
// failed resource keeps its previous value. It logs each resource's change
// of health and returns how many requests failed (not-supported aside).
func (p *Poller) apply(results []result) (*slurm.Snapshot, int) {
	prev := p.snap.Load()
	next := *prev // shallow copy: failed resources keep their previous value
	next.Source = p.src.Name()
	next.Taken = p.opts.Now()
	next.Resources = make(map[slurm.Resource]slurm.ResourceStatus, len(results))
	failed := 0
	for _, r := range results {
		st := slurm.ResourceStatus{Duration: r.duration, LastSuccess: prev.Resources[r.name].LastSuccess}
		if r.err == nil {
			r.apply(&next)
			st.OK = true
			st.LastSuccess = next.Taken
		} else {
			st.Err = r.err
			if !errors.Is(r.err, slurm.ErrNotSupported) {
				failed++
			}
		}
		next.Resources[r.name] = st
		p.logTransition(r)
	}
	return &next, failed
}

// call runs one Source method, turning a panic in it into an error so one
// bad decoder cannot take the whole exporter down.
func (p *Poller) call(ctx context.Context, fn func(context.Context) (func(*slurm.Snapshot), error)) (apply func(*slurm.Snapshot), err error) {
	defer func() {
		if v := recover(); v != nil {
			apply, err = nil, errors.New("source panicked: "+panicText(v))
		}
	}()
	return fn(ctx)
}

func panicText(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	default:
		return "unknown panic value"
	}
}

// logTransition logs a failure when a resource starts failing or its error
// text changes, and one line when it recovers. Repeats of the same error are
// silent so a dead slurmctld does not flood the log once per poll.
func (p *Poller) logTransition(r result) {
	prevErr, wasFailing := p.lastErr[r.name]
	switch {
	case r.err == nil:
		if wasFailing {
			p.log.Info("slurm request recovered", "resource", string(r.name), "duration", r.duration)
			delete(p.lastErr, r.name)
		}
	case errors.Is(r.err, slurm.ErrNotSupported):
		if !p.notSupportedLogged[r.name] {
			p.notSupportedLogged[r.name] = true
			p.log.Info("slurm resource not available on this cluster; will not report it again", "resource", string(r.name), "err", r.err)
		}
	default:
		msg := r.err.Error()
		if !wasFailing || prevErr != msg {
			p.log.Warn("slurm request failed; keeping previous data", "resource", string(r.name), "err", msg, "duration", r.duration)
		}
		p.lastErr[r.name] = msg
	}
}
