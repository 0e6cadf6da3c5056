package gpu

import (
	"context"
	"testing"
	"time"
)

func TestSimulatedDeterministicAndMonotonic(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	a, b := NewSimulated(8, "node1", clock), NewSimulated(8, "node1", clock)
	var lastEnergy []float64
	for step := 0; step < 50; step++ {
		sa, err := a.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(sa.Devices) != 8 {
			t.Fatalf("%d devices", len(sa.Devices))
		}
		for i, d := range sa.Devices {
			if d.UUID != sb.Devices[i].UUID || d.Power != sb.Devices[i].Power {
				t.Fatalf("not deterministic: %+v vs %+v", d, sb.Devices[i])
			}
			if d.Utilization.Value < 0 || d.Utilization.Value > 1 || d.MemoryUsed.Value > d.MemoryTotal.Value {
				t.Fatalf("out of range: %+v", d)
			}
			if lastEnergy != nil && d.Energy.Value < lastEnergy[i] {
				t.Fatalf("GPU %d energy went back: %v < %v", i, d.Energy.Value, lastEnergy[i])
			}
		}
		lastEnergy = lastEnergy[:0]
		for _, d := range sa.Devices {
			lastEnergy = append(lastEnergy, d.Energy.Value)
		}
		now = now.Add(17 * time.Second)
	}
	if SimulatedUUID("node1", 0) == SimulatedUUID("node2", 0) {
		t.Error("UUIDs must differ between hosts")
	}
}

type countingBackend struct{ n int }

func (c *countingBackend) Name() string { return "count" }
func (c *countingBackend) Close() error { return nil }
func (c *countingBackend) Snapshot(context.Context) (*Snapshot, error) {
	c.n++
	return &Snapshot{}, nil
}

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	b := &countingBackend{}
	c := NewCache(b, 2*time.Second, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if _, err := c.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if b.n != 1 {
		t.Errorf("%d reads, want 1", b.n)
	}
	now = now.Add(2 * time.Second)
	if _, err := c.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.n != 2 {
		t.Errorf("%d reads after maxAge, want 2", b.n)
	}
}

func TestThrottleStates(t *testing.T) {
	s := ThrottleStates(0x1 | 0x100 | 0x8000)
	if len(s) != 9 || !s[0].Active || !s[8].Active || s[1].Active {
		t.Errorf("%+v", s)
	}
}
