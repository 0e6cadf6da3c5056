package gpu

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// ErrUnavailable marks a backend that cannot read any GPU on this host (no
// driver, no DCGM exporter). The agent keeps serving everything else.
var ErrUnavailable = errors.New("GPU backend unavailable")

// Backend reads every GPU of the node.
type Backend interface {
	// Name is the --gpu.backend value ("nvml", "dcgm", "simulated").
	Name() string
	// Snapshot reads all GPUs. An error wrapping ErrUnavailable means no GPU
	// can be read at all; a failing single GPU is reported in its Device.Err
	// and never fails the others.
	Snapshot(ctx context.Context) (*Snapshot, error)
	Close() error
}

// Snapshot is one reading of every GPU on the node.
type Snapshot struct {
	Backend       string
	DriverVersion string
	Taken         time.Time
	// Devices are full GPUs and MIG instances, sorted by Index then
	// GPUInstanceID.
	Devices []Device
}

// Reading is an optional value: a field the GPU does not support (or the
// backend does not read) has OK false and is not exported.
type Reading struct {
	Value float64
	OK    bool
}

// R returns a valid reading.
func R(v float64) Reading { return Reading{Value: v, OK: true} }

// Device is one GPU or MIG instance.
type Device struct {
	// UUID is "GPU-…" or, for a MIG instance, "MIG-…". The DCGM backend
	// knows a MIG instance only by its parent and asks NVML for its UUID;
	// where NVML cannot answer (no driver) it uses "<parent UUID>/<GI ID>".
	UUID string
	// Index is the NVML/DCGM index (the `gpu` label); a MIG instance has
	// its parent's.
	Index int
	// Minor is N of /dev/nvidiaN; -1 when unknown.
	Minor    int
	PCIBusID string // NVML form "00000000:31:00.0"
	Model    string
	// MIG instances: the parent GPU's UUID, the GPU instance ID and profile.
	// Parent is "" and GPUInstanceID -1 for a full GPU.
	Parent        string
	GPUInstanceID int
	MIGProfile    string
	// MIGEnabled is set on a full GPU whose MIG mode is on.
	MIGEnabled bool

	// Err is set when the GPU could not be read (fallen off the bus, lost):
	// the readings are then partial or empty.
	Err error

	Utilization       Reading // ratio of time a kernel ran
	MemoryUtilization Reading // ratio of time device memory was read or written
	MemoryUsed        Reading // bytes
	MemoryTotal       Reading // bytes
	Power             Reading // watts
	PowerLimit        Reading // watts
	Energy            Reading // joules since the driver loaded
	TempGPU           Reading // celsius
	TempMemory        Reading // celsius
	ClockSM           Reading // hertz
	ClockMemory       Reading // hertz
	// Throttle lists every clock-event reason the backend knows, active or not.
	Throttle []State
	ECC      []ECCCount
	// RemappedRows by "correctable"/"uncorrectable".
	RemappedRowsCorrectable   Reading
	RemappedRowsUncorrectable Reading
	RemapPending              Reading // 0/1
	RemapFailure              Reading // 0/1
	// XIDs counts XID events by code since the agent started. It is nil
	// when the backend does not count this GPU's XIDs (dcgm; an nvml GPU
	// not registered for XID events) and non-nil, empty until the first
	// event, when it does: the collector then exports the GPU's XID total
	// and the PagingXIDs from 0.
	XIDs map[uint64]uint64
	// LastXID is the last XID code seen (DCGM's DCGM_FI_DEV_XID_ERRORS gauge).
	LastXID        Reading
	PCIeReplays    Reading
	NVLinkErrors   []NVLinkCount
	SMActive       Reading // ratio (GPM / DCGM profiling)
	TensorActive   Reading // ratio
	DRAMActive     Reading // ratio
	GraphicsActive Reading // ratio
	Processes      []Process
}

// State is a named boolean (a throttle reason).
type State struct {
	Name   string
	Active bool
}

// ECCCount is one ECC error counter.
type ECCCount struct {
	Type    string // "corrected" or "uncorrected"
	Counter string // "volatile" (since driver load) or "aggregate" (lifetime)
	Count   float64
}

// NVLinkCount is one NVLink error counter summed over the GPU's links.
type NVLinkCount struct {
	Type  string // "crc_flit", "crc_data", "replay", "recovery"
	Count float64
}

// Process is a process using the GPU.
type Process struct {
	PID        uint32
	MemoryUsed Reading // bytes
}

// Throttle reason bits as NVML (nvmlClocksEventReason*) and DCGM
// (DCGM_FI_DEV_CLOCKS_EVENT_REASONS) both encode them.
var throttleBits = []struct {
	bit  uint64
	name string
}{
	{0x1, "gpu_idle"},
	{0x2, "applications_clocks_setting"},
	{0x4, "sw_power_cap"},
	{0x8, "hw_slowdown"},
	{0x10, "sync_boost"},
	{0x20, "sw_thermal_slowdown"},
	{0x40, "hw_thermal_slowdown"},
	{0x80, "hw_power_brake_slowdown"},
	{0x100, "display_clock_setting"},
}

// ThrottleStates decodes a clock-event reason bitmask into one State per
// known reason, so a reason that turns off is exported as 0, not as absent.
func ThrottleStates(mask uint64) []State {
	out := make([]State, len(throttleBits))
	for i, b := range throttleBits {
		out[i] = State{Name: b.name, Active: mask&b.bit != 0}
	}
	return out
}

// SortDevices orders devices by index, full GPUs before their MIG instances.
func SortDevices(d []Device) {
	sort.SliceStable(d, func(i, j int) bool {
		if d[i].Index != d[j].Index {
			return d[i].Index < d[j].Index
		}
		if d[i].GPUInstanceID != d[j].GPUInstanceID {
			return d[i].GPUInstanceID < d[j].GPUInstanceID
		}
		return d[i].UUID < d[j].UUID
	})
}

// Cache shares one backend reading between the collectors of a scrape (gpu,
// tenants, energy all need it) and between concurrent scrapes: NVML is read
// at most once per MaxAge.
type Cache struct {
	backend Backend
	maxAge  time.Duration
	now     func() time.Time

	mu     sync.Mutex
	snap   *Snapshot
	err    error
	taken  time.Time
	health *healthLog
}

// NewCache wraps b; now may be nil.
func NewCache(b Backend, maxAge time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{backend: b, maxAge: maxAge, now: now}
}

// Snapshot returns the cached reading or takes a new one. Callers must not
// modify the result: it is shared.
func (c *Cache) Snapshot(ctx context.Context) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.taken.IsZero() && now.Sub(c.taken) < c.maxAge {
		return c.snap, c.err
	}
	c.snap, c.err = c.backend.Snapshot(ctx)
	c.taken = now
	if c.health != nil {
		c.health.observe(c.backend.Name(), c.snap, c.err)
	}
	return c.snap, c.err
}
