package gpu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// script is a backend that answers each Snapshot with the next result.
type script struct {
	results []result
	i       int
}

type result struct {
	snap *Snapshot
	err  error
}

func (s *script) Name() string { return "nvml" }
func (s *script) Close() error { return nil }
func (s *script) Snapshot(context.Context) (*Snapshot, error) {
	r := s.results[s.i]
	s.i++
	return r.snap, r.err
}

func gpus(lost ...bool) *Snapshot {
	s := &Snapshot{}
	for i, l := range lost {
		d := Device{UUID: "GPU-" + string(rune('a'+i)), Index: i}
		if l {
			d.Err = errors.New("GPU is lost (fallen off the bus)")
		}
		s.Devices = append(s.Devices, d)
	}
	return s
}

// TestLogChanges: at the default level, each backend or GPU problem is
// logged once with its cause when it starts, once when it changes or
// recovers, never again while it lasts.
func TestLogChanges(t *testing.T) {
	noDriver := Unavailable(ReasonLibraryNotFound, errors.New("nvml init: ERROR_LIBRARY_NOT_FOUND"))
	b := &script{results: []result{
		{nil, noDriver},
		{nil, noDriver}, // same: silent
		{nil, Unavailable(ReasonDriverNotLoaded, errors.New("nvml init: ERROR_DRIVER_NOT_LOADED"))},
		{gpus(false, false), nil},
		{gpus(false, true), nil},
		{gpus(false, true), nil}, // GPU b still lost: silent
		{gpus(false, false), nil},
		{gpus(false, false), nil},
	}}
	// One goroutine logs and reads: a plain buffer will do.
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	c := NewCache(b, time.Second, func() time.Time { return now })
	c.LogChanges(slog.New(slog.NewTextHandler(&buf, nil)))
	var lines [][]string
	for range b.results {
		buf.Reset()
		if _, err := c.Snapshot(context.Background()); err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Second)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l != "" {
				got = append(got, l)
			}
		}
		lines = append(lines, got)
	}
	want := [][]string{
		{"level=WARN", "reason=library_not_found", "ERROR_LIBRARY_NOT_FOUND"},
		nil,
		{"level=WARN", "reason=driver_not_loaded", "ERROR_DRIVER_NOT_LOADED"},
		{"level=INFO", "reads the GPUs again", "gpus=2"},
		{"level=WARN", "does not answer", "uuid=GPU-b", "fallen off the bus"},
		nil,
		{"level=INFO", "answers again", "uuid=GPU-b"},
		nil,
	}
	for i, w := range want {
		got := lines[i]
		if w == nil {
			if len(got) != 0 {
				t.Errorf("read %d: logged %q, want nothing", i, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Errorf("read %d: logged %q, want one line with %q", i, got, w)
			continue
		}
		for _, s := range w {
			if !strings.Contains(got[0], s) {
				t.Errorf("read %d: %q lacks %q", i, got[0], s)
			}
		}
	}
}

// TestReason maps errors onto the reason label.
func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil: "",
		Unavailable(ReasonUnreachable, errors.New("refused")): ReasonUnreachable,
		context.DeadlineExceeded:                              ReasonTimeout,
		errors.New("something else"):                          ReasonError,
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
	err := Unavailable(ReasonTimeout, context.DeadlineExceeded)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap both ErrUnavailable and its cause", err)
	}
}
