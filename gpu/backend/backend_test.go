package backend

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// build parses args into the backend's flags and builds it.
func build(t *testing.T, args ...string) *GPUs {
	t.Helper()
	app := kingpin.New("test", "")
	f := AddFlags(app)
	if _, err := app.Parse(args); err != nil {
		t.Fatal(err)
	}
	g, err := f.Build(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func TestNone(t *testing.T) {
	g := build(t, "--gpu.backend=none")
	if g.Backend != "none" || g.Snapshot != nil {
		t.Errorf("none: backend %q, snapshot set %v; want no reader", g.Backend, g.Snapshot != nil)
	}
	g.Probe(context.Background()) // nothing to probe, no panic
}

// TestSimulatedThroughCache: the flags reach the backend (count, seed) and
// the cache (age), which serves one reading while it is young.
func TestSimulatedThroughCache(t *testing.T) {
	g := build(t, "--gpu.backend=simulated", "--gpu.simulated-count=3", "--gpu.simulated-seed=n1", "--gpu.cache-age=1h")
	if g.MaxAge != time.Hour {
		t.Errorf("MaxAge %v, want 1h", g.MaxAge)
	}
	a, err := g.Snapshot(context.Background())
	if err != nil || len(a.Devices) != 3 {
		t.Fatalf("snapshot: %v devices, err %v; want 3", a, err)
	}
	b, _ := g.Snapshot(context.Background())
	if a != b {
		t.Error("a second read within --gpu.cache-age read the backend again")
	}
	if other := build(t, "--gpu.backend=simulated", "--gpu.simulated-count=3", "--gpu.simulated-seed=n2"); other.Snapshot == nil {
		t.Fatal("no reader")
	} else if s, _ := other.Snapshot(context.Background()); s.Devices[0].UUID == a.Devices[0].UUID {
		t.Error("--gpu.simulated-seed did not change the UUIDs")
	}
}
