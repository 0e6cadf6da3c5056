package simulated

import (
	"context"
	"testing"
	"time"
)

func TestSimulatedDeterministicAndMonotonic(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	a, b := New(8, "node1", clock), New(8, "node1", clock)
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
	if UUID("node1", 0) == UUID("node2", 0) {
		t.Error("UUIDs must differ between hosts")
	}
}
