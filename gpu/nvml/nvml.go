package nvml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"jobscope/gpu"
)

// maxEventsPerScrape bounds how many queued XID events one scrape drains, so
// a GPU storming events cannot hold a scrape.
const maxEventsPerScrape = 10000

// initRetry is how often a failed nvml.Init is retried: the driver may be
// loaded after the agent started (a DaemonSet racing the driver container).
const initRetry = time.Minute

// gpmRetry is how often a GPU's GPM support is asked again after the
// question failed without a definite answer.
const gpmRetry = time.Minute

// Backend reads GPUs through go-nvml.
type Backend struct {
	lib nvml.Interface
	now func() time.Time

	mu       sync.Mutex
	ready    bool
	initErr  error
	lastInit time.Time
	driver   string
	events   nvml.EventSet
	// evDevs are the handles registered for events with their UUIDs, read
	// at registration: a lost GPU's event (XID 79) no longer answers
	// GetUUID.
	evDevs []evDev
	// xids counts XID events by device UUID and code since the agent started.
	xids map[string]map[uint64]uint64
	// known remembers each index's identity (UUID, minor, PCI bus ID,
	// model) so a GPU that stops answering is still reported as itself.
	known map[int]identity
	// gpm holds each GPU's GPM support and last sample (by UUID): SM and
	// tensor activity are computed between two samples, i.e. over the time
	// between two scrapes.
	gpm     map[string]*gpmState
	metrics nvml.GpmMetricsGetType // reused: 477 entries, too big to allocate per GPU
}

type evDev struct {
	h    nvml.Device
	uuid string
}

type gpmState struct {
	supported bool
	// retryAt is when support is asked again: zero once NVML answered
	// definitely, set when the question failed otherwise.
	retryAt time.Time
	prev    nvml.GpmSample
}

// New returns the nvml backend. lib nil means the real library
// (nvml.New()); tests pass go-nvml's mock. Init happens on first use and is
// retried, so a host without a driver only makes the backend unavailable.
func New(lib nvml.Interface, now func() time.Time) *Backend {
	if lib == nil {
		lib = nvml.New()
	}
	if now == nil {
		now = time.Now
	}
	return &Backend{lib: lib, now: now, xids: map[string]map[uint64]uint64{}, known: map[int]identity{},
		gpm: map[string]*gpmState{}}
}

// Name implements gpu.Backend.
func (b *Backend) Name() string { return "nvml" }

// Init initialises NVML now, so the command can log once at start-up
// whether GPUs can be read. It returns an error wrapping ErrUnavailable.
func (b *Backend) Init() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.init()
}

func (b *Backend) init() error {
	if b.ready {
		return nil
	}
	if !b.lastInit.IsZero() && b.now().Sub(b.lastInit) < initRetry {
		return b.initErr
	}
	b.lastInit = b.now()
	if ret := b.lib.Init(); ret != nvml.SUCCESS {
		b.initErr = gpu.Unavailable(reason(ret, gpu.ReasonInitFailed),
			fmt.Errorf("nvml init: %s (retried every %s)", b.errString(ret), initRetry))
		return b.initErr
	}
	b.ready, b.initErr = true, nil
	if v, ret := b.lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		b.driver = v
	}
	b.setupEvents()
	return nil
}

// setupEvents registers every GPU that supports it for XID events. Without
// an event set XIDs are not counted; nothing else changes.
func (b *Backend) setupEvents() {
	b.evDevs = nil
	set, ret := b.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return
	}
	n, ret := b.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return
	}
	registered := false
	for i := 0; i < n; i++ {
		h, ret := b.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		types, ret := h.GetSupportedEventTypes()
		if ret != nvml.SUCCESS || types&nvml.EventTypeXidCriticalError == 0 {
			continue
		}
		if h.RegisterEvents(nvml.EventTypeXidCriticalError, set) == nvml.SUCCESS {
			registered = true
			if uuid, ret := h.GetUUID(); ret == nvml.SUCCESS {
				b.evDevs = append(b.evDevs, evDev{h: h, uuid: uuid})
			}
		}
	}
	if registered {
		b.events = set
	} else {
		// Free it; a failing Free leaves nothing to act on.
		_ = set.Free()
	}
}

// Close implements gpu.Backend.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ready {
		return nil
	}
	for uuid, st := range b.gpm {
		if st.prev != nil {
			// Freed memory only; nothing to do about a failure at exit.
			_ = st.prev.Free()
		}
		delete(b.gpm, uuid)
	}
	if b.events != nil {
		if ret := b.events.Free(); ret != nvml.SUCCESS {
			return fmt.Errorf("nvml event set free: %s", b.errString(ret))
		}
	}
	b.ready = false
	if ret := b.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("nvml shutdown: %s", b.errString(ret))
	}
	return nil
}

// reason maps an NVML return code onto jobscope_gpu_backend_up's reason;
// codes without their own reason give other.
func reason(ret nvml.Return, other string) string {
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return gpu.ReasonLibraryNotFound
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return gpu.ReasonDriverNotLoaded
	case nvml.ERROR_NO_PERMISSION:
		return gpu.ReasonNoPermission
	}
	return other
}

func (b *Backend) errString(ret nvml.Return) string {
	// ErrorString needs the library; without it Return's own text serves.
	if ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_UNINITIALIZED {
		return ret.Error()
	}
	return b.lib.ErrorString(ret)
}

// Snapshot implements gpu.Backend.
func (b *Backend) Snapshot(ctx context.Context) (*gpu.Snapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.init(); err != nil {
		return nil, err
	}
	b.drainEvents()
	n, ret := b.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, gpu.Unavailable(reason(ret, gpu.ReasonQueryFailed), fmt.Errorf("nvml device count: %s", b.errString(ret)))
	}
	snap := &gpu.Snapshot{Backend: b.Name(), DriverVersion: b.driver, Taken: b.now()}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return snap, err
		}
		snap.Devices = append(snap.Devices, b.readGPU(i)...)
	}
	gpu.SortDevices(snap.Devices)
	return snap, nil
}

// drainEvents takes every queued XID event without waiting.
func (b *Backend) drainEvents() {
	if b.events == nil {
		return
	}
	for range maxEventsPerScrape {
		ev, ret := b.events.Wait(0)
		if ret != nvml.SUCCESS {
			// ERROR_TIMEOUT: queue empty. Anything else: try next scrape.
			return
		}
		if ev.EventType&nvml.EventTypeXidCriticalError == 0 || ev.Device == nil {
			continue
		}
		uuid, ret := ev.Device.GetUUID()
		if ret != nvml.SUCCESS {
			if uuid = b.registeredUUID(ev.Device); uuid == "" {
				continue
			}
		}
		m := b.xids[uuid]
		if m == nil {
			m = map[uint64]uint64{}
			b.xids[uuid] = m
		}
		m[ev.EventData]++
	}
}

// registeredUUID is the UUID a handle had when it was registered for
// events, "" for a handle not registered.
func (b *Backend) registeredUUID(h nvml.Device) (uuid string) {
	defer func() {
		// A handle type that cannot be compared: no match.
		if recover() != nil {
			uuid = ""
		}
	}()
	for _, e := range b.evDevs {
		if e.h == h {
			return e.uuid
		}
	}
	return ""
}

// reader reads one device's fields; the first ERROR_GPU_IS_LOST marks the
// device and stops further reads, any other failure leaves that field unset.
type reader struct {
	d    *gpu.Device
	lost bool
}

func (r *reader) ok(what string, ret nvml.Return) bool {
	if r.lost {
		return false
	}
	switch ret {
	case nvml.SUCCESS:
		return true
	case nvml.ERROR_GPU_IS_LOST:
		r.lost = true
		r.d.Err = fmt.Errorf("%s: %w", what, errGPULost)
	}
	return false
}

var errGPULost = errors.New("GPU is lost (fallen off the bus)")

type identity struct {
	uuid, pci, model string
	minor            int
}

// readGPU reads GPU i and, when MIG is on, its instances. A GPU that
// cannot be read is still returned, as last known, with its Err set.
func (b *Backend) readGPU(i int) []gpu.Device {
	d := b.lastKnown(i)
	h, ret := b.lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		d.Err = fmt.Errorf("nvml handle of GPU %d: %s", i, b.errString(ret))
		return []gpu.Device{d}
	}
	r := &reader{d: &d}
	if !b.readIdentity(r, h, i) {
		return []gpu.Device{d}
	}
	b.readCommon(r, h)
	readLoad(r, h)
	readMemoryErrors(r, h)
	if v, ret := h.GetPcieReplayCounter(); r.ok("pcie replay", ret) {
		d.PCIeReplays = gpu.R(float64(v))
	}
	d.NVLinkErrors = b.nvlinkErrors(r, h)
	b.readGPM(r, h)
	// Instances first: reading them sets d's MIG mode or processes.
	instances := b.readInstancesOrProcesses(r, h)
	return append([]gpu.Device{d}, instances...)
}

// lastKnown is GPU i as the previous reads knew it, with the XIDs counted
// for its UUID; a GPU never read has no identity yet.
func (b *Backend) lastKnown(i int) gpu.Device {
	d := gpu.Device{Index: i, Minor: -1, GPUInstanceID: -1}
	if id, ok := b.known[i]; ok {
		d.UUID, d.Minor, d.PCIBusID, d.Model = id.uuid, id.minor, id.pci, id.model
	}
	if d.UUID != "" {
		// A GPU that stops answering keeps its XID counts (XID 79 is how
		// it fell off the bus). drainEvents ran before: they are this
		// scrape's.
		d.XIDs = b.xidCounts(d.UUID)
	}
	return d
}

// readIdentity reads UUID, minor, PCI bus ID and model and remembers them
// for index i. It returns false when the UUID cannot be read: without it
// nothing else read could be told apart from another GPU's.
func (b *Backend) readIdentity(r *reader, h nvml.Device, i int) bool {
	d := r.d
	uuid, ret := h.GetUUID()
	if !r.ok("uuid", ret) {
		if d.Err == nil {
			d.Err = fmt.Errorf("nvml uuid of GPU %d: %s", i, b.errString(ret))
		}
		return false
	}
	if d.UUID != uuid {
		// Not the GPU known at this index (first read, hot-swap,
		// reordering): forget the old identity, take this one's XIDs.
		d.Minor, d.PCIBusID, d.Model, d.XIDs = -1, "", "", b.xidCounts(uuid)
	}
	d.UUID = uuid
	if v, ret := h.GetMinorNumber(); r.ok("minor", ret) {
		d.Minor = v
	}
	if v, ret := h.GetPciInfo(); r.ok("pci", ret) {
		d.PCIBusID = busID(v)
	}
	if v, ret := h.GetName(); r.ok("name", ret) {
		d.Model = v
	}
	if !r.lost {
		b.known[i] = identity{uuid: uuid, pci: d.PCIBusID, model: d.Model, minor: d.Minor}
	}
	return true
}

// readLoad reads utilization, power, energy, temperature, clocks and
// clock-event reasons.
func readLoad(r *reader, h nvml.Device) {
	d := r.d
	if v, ret := h.GetUtilizationRates(); r.ok("utilization", ret) {
		d.Utilization = gpu.R(float64(v.Gpu) / 100)
		d.MemoryUtilization = gpu.R(float64(v.Memory) / 100)
	}
	if v, ret := h.GetPowerUsage(); r.ok("power", ret) {
		d.Power = gpu.R(float64(v) / 1000)
	}
	if v, ret := h.GetEnforcedPowerLimit(); r.ok("power limit", ret) {
		d.PowerLimit = gpu.R(float64(v) / 1000)
	}
	if v, ret := h.GetTotalEnergyConsumption(); r.ok("energy", ret) {
		d.Energy = gpu.R(float64(v) / 1000)
	}
	if v, ret := h.GetTemperature(nvml.TEMPERATURE_GPU); r.ok("temperature", ret) {
		d.TempGPU = gpu.R(float64(v))
	}
	if v, ret := h.GetClockInfo(nvml.CLOCK_SM); r.ok("sm clock", ret) {
		d.ClockSM = gpu.R(float64(v) * 1e6)
	}
	if v, ret := h.GetClockInfo(nvml.CLOCK_MEM); r.ok("memory clock", ret) {
		d.ClockMemory = gpu.R(float64(v) * 1e6)
	}
	if v, ret := h.GetCurrentClocksEventReasons(); r.ok("clock event reasons", ret) {
		d.Throttle = gpu.ThrottleStates(v)
	}
}

// eccCounters are the ECC counters read, in the order exported.
var eccCounters = []struct {
	typ     string
	mt      nvml.MemoryErrorType
	counter string
	ct      nvml.EccCounterType
}{
	{"corrected", nvml.MEMORY_ERROR_TYPE_CORRECTED, "volatile", nvml.VOLATILE_ECC},
	{"uncorrected", nvml.MEMORY_ERROR_TYPE_UNCORRECTED, "volatile", nvml.VOLATILE_ECC},
	{"corrected", nvml.MEMORY_ERROR_TYPE_CORRECTED, "aggregate", nvml.AGGREGATE_ECC},
	{"uncorrected", nvml.MEMORY_ERROR_TYPE_UNCORRECTED, "aggregate", nvml.AGGREGATE_ECC},
}

// readMemoryErrors reads the ECC counters and row remapping.
func readMemoryErrors(r *reader, h nvml.Device) {
	d := r.d
	for _, e := range eccCounters {
		if v, ret := h.GetTotalEccErrors(e.mt, e.ct); r.ok("ecc", ret) {
			d.ECC = append(d.ECC, gpu.ECCCount{Type: e.typ, Counter: e.counter, Count: float64(v)})
		}
	}
	if corr, unc, pending, failed, ret := h.GetRemappedRows(); r.ok("remapped rows", ret) {
		d.RemappedRowsCorrectable = gpu.R(float64(corr))
		d.RemappedRowsUncorrectable = gpu.R(float64(unc))
		d.RemapPending = gpu.R(b2f(pending))
		d.RemapFailure = gpu.R(b2f(failed))
	}
}

// readInstancesOrProcesses returns the GPU's MIG instances when MIG is on
// (their processes are theirs); otherwise it reads the GPU's own processes.
func (b *Backend) readInstancesOrProcesses(r *reader, h nvml.Device) []gpu.Device {
	d := r.d
	if cur, _, ret := h.GetMigMode(); r.ok("mig mode", ret) && cur == nvml.DEVICE_MIG_ENABLE {
		d.MIGEnabled = true
		return b.readMIG(r, h, d)
	}
	if procs, ret := h.GetComputeRunningProcesses(); r.ok("processes", ret) {
		d.Processes = processes(procs)
	}
	return nil
}

// readCommon reads what full GPUs and MIG instances both answer.
func (b *Backend) readCommon(r *reader, h nvml.Device) {
	if v, ret := h.GetMemoryInfo(); r.ok("memory", ret) {
		r.d.MemoryUsed = gpu.R(float64(v.Used))
		r.d.MemoryTotal = gpu.R(float64(v.Total))
	}
}

// nvlinkErrors sums each error counter over the GPU's active links.
func (b *Backend) nvlinkErrors(r *reader, h nvml.Device) []gpu.NVLinkCount {
	counters := []struct {
		typ string
		c   nvml.NvLinkErrorCounter
	}{
		{"crc_flit", nvml.NVLINK_ERROR_DL_CRC_FLIT},
		{"crc_data", nvml.NVLINK_ERROR_DL_CRC_DATA},
		{"replay", nvml.NVLINK_ERROR_DL_REPLAY},
		{"recovery", nvml.NVLINK_ERROR_DL_RECOVERY},
	}
	sums := make([]float64, len(counters))
	found := false
	for link := 0; link < nvml.NVLINK_MAX_LINKS; link++ {
		state, ret := h.GetNvLinkState(link)
		if ret != nvml.SUCCESS {
			if !r.ok("nvlink state", ret) && r.lost {
				return nil
			}
			if ret == nvml.ERROR_NOT_SUPPORTED {
				// A GPU without NVLink (PCIe cards) says so for every link.
				break
			}
			// NOT_SUPPORTED / INVALID_ARGUMENT: no such link; later links
			// are not numbered densely on every board, so keep looking.
			continue
		}
		if state != nvml.FEATURE_ENABLED {
			continue
		}
		for i, c := range counters {
			if v, ret := h.GetNvLinkErrorCounter(link, c.c); r.ok("nvlink errors", ret) {
				sums[i] += float64(v)
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	out := make([]gpu.NVLinkCount, len(counters))
	for i, c := range counters {
		out[i] = gpu.NVLinkCount{Type: c.typ, Count: sums[i]}
	}
	return out
}

func (b *Backend) readMIG(pr *reader, h nvml.Device, parent *gpu.Device) []gpu.Device {
	max, ret := h.GetMaxMigDeviceCount()
	if !pr.ok("mig count", ret) {
		return nil
	}
	var out []gpu.Device
	for j := 0; j < max; j++ {
		mh, ret := h.GetMigDeviceHandleByIndex(j)
		if ret != nvml.SUCCESS {
			// ERROR_NOT_FOUND: no instance in this slot.
			continue
		}
		m := gpu.Device{Index: parent.Index, Minor: parent.Minor, PCIBusID: parent.PCIBusID,
			Parent: parent.UUID, GPUInstanceID: -1}
		r := &reader{d: &m}
		uuid, ret := mh.GetUUID()
		if !r.ok("mig uuid", ret) {
			continue
		}
		m.UUID = uuid
		if v, ret := mh.GetGpuInstanceId(); r.ok("gpu instance id", ret) {
			m.GPUInstanceID = v
		}
		if v, ret := mh.GetName(); r.ok("mig name", ret) {
			m.Model = v
			// "NVIDIA A100-SXM4-80GB MIG 1g.10gb": the profile is the last word.
			if _, p, ok := strings.Cut(v, " MIG "); ok {
				m.MIGProfile = p
			}
		}
		b.readCommon(r, mh)
		if procs, ret := mh.GetComputeRunningProcesses(); r.ok("mig processes", ret) {
			m.Processes = processes(procs)
		}
		out = append(out, m)
	}
	return out
}

// readGPM reads SM and tensor activity through GPM (Hopper and later)
// between the previous scrape's sample and this one; the first scrape after
// start has none. A GPU's support is asked until NVML answers definitely
// (success, ERROR_NOT_SUPPORTED, or a library without the function); after
// another error it is asked again at most once per gpmRetry.
func (b *Backend) readGPM(r *reader, h nvml.Device) {
	uuid := r.d.UUID
	st := b.gpm[uuid]
	if st == nil || !st.retryAt.IsZero() && !b.now().Before(st.retryAt) {
		sup, ret := h.GpmQueryDeviceSupport()
		if !r.ok("gpm support", ret) && r.lost {
			return
		}
		if st == nil {
			st = &gpmState{}
			b.gpm[uuid] = st
		}
		st.supported, st.retryAt = false, time.Time{}
		switch ret {
		case nvml.SUCCESS:
			st.supported = sup.IsSupportedDevice != 0
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
		default:
			st.retryAt = b.now().Add(gpmRetry)
		}
	}
	if !st.supported {
		return
	}
	cur, ret := b.lib.GpmSampleAlloc()
	if ret != nvml.SUCCESS {
		return
	}
	if !r.ok("gpm sample", h.GpmSampleGet(cur)) {
		_ = cur.Free() // the sample is unused; a failing free leaks 1 sample at most
		return
	}
	if st.prev != nil {
		m := &b.metrics
		*m = nvml.GpmMetricsGetType{NumMetrics: 2, Sample1: st.prev, Sample2: cur}
		m.Metrics[0].MetricId = uint32(nvml.GPM_METRIC_SM_UTIL)
		m.Metrics[1].MetricId = uint32(nvml.GPM_METRIC_ANY_TENSOR_UTIL)
		if b.lib.GpmMetricsGet(m) == nvml.SUCCESS {
			// GPM reports percentages.
			if m.Metrics[0].NvmlReturn == uint32(nvml.SUCCESS) {
				r.d.SMActive = gpu.R(m.Metrics[0].Value / 100)
			}
			if m.Metrics[1].NvmlReturn == uint32(nvml.SUCCESS) {
				r.d.TensorActive = gpu.R(m.Metrics[1].Value / 100)
			}
		}
		_ = st.prev.Free() // see above
	}
	st.prev = cur
}

func processes(in []nvml.ProcessInfo) []gpu.Process {
	out := make([]gpu.Process, 0, len(in))
	for _, p := range in {
		pr := gpu.Process{PID: p.Pid}
		// NVML reports "not available" (e.g. without permission) as all ones.
		if p.UsedGpuMemory != ^uint64(0) {
			pr.MemoryUsed = gpu.R(float64(p.UsedGpuMemory))
		}
		out = append(out, pr)
	}
	return out
}

// xidCounts is a copy of the XIDs counted for uuid, nil when the GPU is not
// registered for XID events (nothing is counted, so nothing may read 0).
func (b *Backend) xidCounts(uuid string) map[uint64]uint64 {
	if !b.watched(uuid) {
		return nil
	}
	m := b.xids[uuid]
	out := make(map[uint64]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// watched says whether uuid's GPU is registered for XID events.
func (b *Backend) watched(uuid string) bool {
	for _, e := range b.evDevs {
		if e.uuid == uuid {
			return true
		}
	}
	return false
}

// busID returns the PCI bus ID NVML prints ("00000000:31:00.0").
func busID(p nvml.PciInfo) string {
	var sb strings.Builder
	for _, c := range p.BusId {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
