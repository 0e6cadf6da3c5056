package simulated

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"jobscope/gpu"
)

// Backend is a deterministic synthetic node for `make demo` and tests: its
// values depend only on the seed, the GPU index and the clock. It is never a
// default backend.
type Backend struct {
	count int
	seed  string
	start time.Time
	now   func() time.Time
}

// New returns count synthetic H100s named after seed (the host
// name). now may be nil.
func New(count int, seed string, now func() time.Time) *Backend {
	if now == nil {
		now = time.Now
	}
	return &Backend{count: count, seed: seed, start: now(), now: now}
}

// Name implements gpu.Backend.
func (s *Backend) Name() string { return "simulated" }

// Close implements gpu.Backend.
func (s *Backend) Close() error { return nil }

// UUID is the UUID of synthetic GPU i for seed.
func UUID(seed string, i int) string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s/%d", seed, i)
	b := h.Sum(nil)
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Snapshot implements gpu.Backend.
func (s *Backend) Snapshot(_ context.Context) (*gpu.Snapshot, error) {
	now := s.now()
	t := now.Sub(s.start).Seconds()
	snap := &gpu.Snapshot{Backend: s.Name(), DriverVersion: "580.105.08", Taken: now}
	const memTotal = 80 * (1 << 30)
	for i := 0; i < s.count; i++ {
		phase := float64(i)
		// Power swings between 150 and 550 W; energy is its exact integral
		// plus a per-GPU offset so counters stay monotonic.
		power := 350 + 200*math.Sin(t/60+phase)
		energy := 1e6*float64(i+1) + 350*t - 200*60*(math.Cos(t/60+phase)-math.Cos(phase))
		util := (power - 150) / 400
		d := gpu.Device{
			UUID:              UUID(s.seed, i),
			Index:             i,
			Minor:             i,
			PCIBusID:          fmt.Sprintf("00000000:%02X:00.0", 0x18+0x10*i),
			Model:             "NVIDIA H100 80GB HBM3 (simulated)",
			GPUInstanceID:     -1,
			Utilization:       gpu.R(util),
			MemoryUtilization: gpu.R(util / 2),
			MemoryUsed:        gpu.R(math.Round(util * memTotal * 0.9)),
			MemoryTotal:       gpu.R(memTotal),
			Power:             gpu.R(power),
			PowerLimit:        gpu.R(700),
			Energy:            gpu.R(energy),
			TempGPU:           gpu.R(math.Round(35 + 40*util)),
			TempMemory:        gpu.R(math.Round(40 + 35*util)),
			ClockSM:           gpu.R(1980e6),
			ClockMemory:       gpu.R(2619e6),
			Throttle:          gpu.ThrottleStates(throttleMask(util)),
			ECC: []gpu.ECCCount{
				{Type: "corrected", Counter: "volatile", Count: 0},
				{Type: "uncorrected", Counter: "volatile", Count: 0},
				{Type: "corrected", Counter: "aggregate", Count: float64(i)},
				{Type: "uncorrected", Counter: "aggregate", Count: 0},
			},
			RemappedRowsCorrectable:   gpu.R(0),
			RemappedRowsUncorrectable: gpu.R(0),
			RemapPending:              gpu.R(0),
			RemapFailure:              gpu.R(0),
			XIDs:                      map[uint64]uint64{},
			PCIeReplays:               gpu.R(0),
			NVLinkErrors: []gpu.NVLinkCount{
				{Type: "crc_flit", Count: 0}, {Type: "crc_data", Count: 0},
				{Type: "replay", Count: 0}, {Type: "recovery", Count: 0},
			},
			SMActive:     gpu.R(util * 0.8),
			TensorActive: gpu.R(util * 0.5),
			DRAMActive:   gpu.R(util * 0.4),
		}
		snap.Devices = append(snap.Devices, d)
	}
	return snap, nil
}

func throttleMask(util float64) uint64 {
	switch {
	case util < 0.05:
		return 0x1 // idle
	case util > 0.9:
		return 0x4 // power cap
	}
	return 0
}
