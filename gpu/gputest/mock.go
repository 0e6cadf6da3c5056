package gputest

import (
	"fmt"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// GPU describes one mocked GPU. Zero values are valid readings.
type GPU struct {
	UUID, Name, BusID string
	Minor             int
	// Lost makes every call after GetUUID fail with ERROR_GPU_IS_LOST, as a
	// GPU that fell off the bus does.
	Lost bool
	// NoUUID makes GetUUID itself fail (GPU lost before it was ever read).
	NoUUID bool
	// NotSupported makes the optional readings (energy, remapped rows,
	// clock reasons, NVLink, ECC) answer ERROR_NOT_SUPPORTED, as consumer and
	// older GPUs do.
	NotSupported bool

	UtilGPU, UtilMemory  uint32 // percent
	MemUsed, MemTotal    uint64 // bytes
	PowerMW, LimitMW     uint32
	EnergyMJ             uint64
	TempC                uint32
	SMClockMHz, MemMHz   uint32
	ClockReasons         uint64
	ECC                  [4]uint64 // corrected/volatile, uncorrected/volatile, corrected/aggregate, uncorrected/aggregate
	RemapCorr, RemapUnc  int
	RemapPending, Failed bool
	PCIeReplays          int
	NVLinks              int       // active links
	NVLinkErrors         [4]uint64 // per link: replay, recovery, crc_flit, crc_data
	Processes            []nvml.ProcessInfo
	// XIDEvents registers the GPU for XID events.
	XIDEvents bool
	// GPM makes the GPU support GPM, reporting these percentages.
	GPM                  bool
	SMUtilPct, TensorPct float64
	MIG                  []MIG
}

// MIG is one mocked MIG instance.
type MIG struct {
	UUID, Profile     string
	GI                int
	MemUsed, MemTotal uint64
	Processes         []nvml.ProcessInfo
}

// Node is a mocked NVML library and its queued events.
type Node struct {
	Lib *mock.Interface

	mu     sync.Mutex
	events []nvml.EventData
	// samples maps each GPM sample to the GPU it was taken on.
	samples map[nvml.GpmSample]GPU
	// LiveSamples counts GPM samples allocated and not freed.
	LiveSamples int
}

// Queue adds XID events the next Snapshot will drain.
func (n *Node) Queue(ev ...nvml.EventData) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, ev...)
}

// NewNode mocks a node with driver version driver. initRet is what Init
// returns (nvml.ERROR_LIBRARY_NOT_FOUND for a host without driver).
func NewNode(driver string, initRet nvml.Return, gpus []GPU) *Node {
	n := &Node{samples: map[nvml.GpmSample]GPU{}}
	devs := make([]*mock.Device, len(gpus))
	byDev := map[nvml.Device]GPU{}
	for i := range gpus {
		devs[i] = device(gpus[i])
		byDev[devs[i]] = gpus[i]
	}
	set := &mock.EventSet{
		WaitFunc: func(uint32) (nvml.EventData, nvml.Return) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if len(n.events) == 0 {
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
			ev := n.events[0]
			n.events = n.events[1:]
			return ev, nvml.SUCCESS
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	n.Lib = &mock.Interface{
		InitFunc:                   func() nvml.Return { return initRet },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		ErrorStringFunc:            func(r nvml.Return) string { return r.Error() },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return driver, nvml.SUCCESS },
		EventSetCreateFunc:         func() (nvml.EventSet, nvml.Return) { return set, nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		GpmSampleAllocFunc: func() (nvml.GpmSample, nvml.Return) {
			s := &mock.GpmSample{}
			s.GetFunc = func(d nvml.Device) nvml.Return {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.samples[s] = byDev[d]
				return nvml.SUCCESS
			}
			s.FreeFunc = func() nvml.Return {
				n.mu.Lock()
				defer n.mu.Unlock()
				delete(n.samples, s)
				n.LiveSamples--
				return nvml.SUCCESS
			}
			n.mu.Lock()
			n.LiveSamples++
			n.mu.Unlock()
			return s, nvml.SUCCESS
		},
		GpmMetricsGetFunc: func(m *nvml.GpmMetricsGetType) nvml.Return {
			n.mu.Lock()
			defer n.mu.Unlock()
			g, ok := n.samples[m.Sample2]
			if _, ok1 := n.samples[m.Sample1]; !ok || !ok1 {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			for i := 0; i < int(m.NumMetrics); i++ {
				switch nvml.GpmMetricId(m.Metrics[i].MetricId) {
				case nvml.GPM_METRIC_SM_UTIL:
					m.Metrics[i].Value = g.SMUtilPct
				case nvml.GPM_METRIC_ANY_TENSOR_UTIL:
					m.Metrics[i].Value = g.TensorPct
				default:
					m.Metrics[i].NvmlReturn = uint32(nvml.ERROR_NOT_SUPPORTED)
				}
			}
			return nvml.SUCCESS
		},
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < 0 || i >= len(devs) {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return devs[i], nvml.SUCCESS
		},
	}
	return n
}

// Device returns the mock of GPU i, e.g. to build events.
func (n *Node) Device(i int) nvml.Device {
	d, _ := n.Lib.DeviceGetHandleByIndex(i)
	return d
}

func device(g GPU) *mock.Device {
	// ok answers SUCCESS, or GPU_IS_LOST for a lost GPU.
	ok := func() nvml.Return {
		if g.Lost {
			return nvml.ERROR_GPU_IS_LOST
		}
		return nvml.SUCCESS
	}
	opt := func() nvml.Return {
		if g.NotSupported && !g.Lost {
			return nvml.ERROR_NOT_SUPPORTED
		}
		return ok()
	}
	migDevs := make([]*mock.Device, len(g.MIG))
	for i, m := range g.MIG {
		migDevs[i] = &mock.Device{
			GetUUIDFunc:          func() (string, nvml.Return) { return m.UUID, nvml.SUCCESS },
			GetGpuInstanceIdFunc: func() (int, nvml.Return) { return m.GI, nvml.SUCCESS },
			GetNameFunc:          func() (string, nvml.Return) { return g.Name + " MIG " + m.Profile, nvml.SUCCESS },
			GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
				return nvml.Memory{Used: m.MemUsed, Total: m.MemTotal, Free: m.MemTotal - m.MemUsed}, nvml.SUCCESS
			},
			GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) { return m.Processes, nvml.SUCCESS },
		}
	}
	// d is declared first: its GPM sampling hands itself to the sample.
	var d *mock.Device
	d = &mock.Device{
		GetUUIDFunc: func() (string, nvml.Return) {
			if g.NoUUID {
				return "", nvml.ERROR_GPU_IS_LOST
			}
			return g.UUID, nvml.SUCCESS
		},
		GetMinorNumberFunc: func() (int, nvml.Return) { return g.Minor, ok() },
		GetPciInfoFunc: func() (nvml.PciInfo, nvml.Return) {
			var p nvml.PciInfo
			for i := 0; i < len(g.BusID) && i < len(p.BusId)-1; i++ {
				p.BusId[i] = int8(g.BusID[i])
			}
			return p, ok()
		},
		GetNameFunc:       func() (string, nvml.Return) { return g.Name, ok() },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) { return nvml.Memory{Used: g.MemUsed, Total: g.MemTotal}, ok() },
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			if len(g.MIG) > 0 {
				// NVML does not report utilisation of a GPU in MIG mode.
				return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
			}
			return nvml.Utilization{Gpu: g.UtilGPU, Memory: g.UtilMemory}, ok()
		},
		GetPowerUsageFunc:             func() (uint32, nvml.Return) { return g.PowerMW, ok() },
		GetEnforcedPowerLimitFunc:     func() (uint32, nvml.Return) { return g.LimitMW, ok() },
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) { return g.EnergyMJ, opt() },
		GetTemperatureFunc:            func(nvml.TemperatureSensors) (uint32, nvml.Return) { return g.TempC, ok() },
		GetClockInfoFunc: func(c nvml.ClockType) (uint32, nvml.Return) {
			if c == nvml.CLOCK_SM {
				return g.SMClockMHz, ok()
			}
			return g.MemMHz, ok()
		},
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) { return g.ClockReasons, opt() },
		GetTotalEccErrorsFunc: func(t nvml.MemoryErrorType, c nvml.EccCounterType) (uint64, nvml.Return) {
			i := 0
			if t == nvml.MEMORY_ERROR_TYPE_UNCORRECTED {
				i = 1
			}
			if c == nvml.AGGREGATE_ECC {
				i += 2
			}
			return g.ECC[i], opt()
		},
		GetRemappedRowsFunc: func() (int, int, bool, bool, nvml.Return) {
			return g.RemapCorr, g.RemapUnc, g.RemapPending, g.Failed, opt()
		},
		GetPcieReplayCounterFunc: func() (int, nvml.Return) { return g.PCIeReplays, ok() },
		GetNvLinkStateFunc: func(link int) (nvml.EnableState, nvml.Return) {
			if r := opt(); r != nvml.SUCCESS {
				return 0, r
			}
			if link >= g.NVLinks {
				return 0, nvml.ERROR_INVALID_ARGUMENT
			}
			return nvml.FEATURE_ENABLED, nvml.SUCCESS
		},
		GetNvLinkErrorCounterFunc: func(_ int, c nvml.NvLinkErrorCounter) (uint64, nvml.Return) {
			return g.NVLinkErrors[c], ok()
		},
		GetMigModeFunc: func() (int, int, nvml.Return) {
			if len(g.MIG) > 0 {
				return nvml.DEVICE_MIG_ENABLE, nvml.DEVICE_MIG_ENABLE, ok()
			}
			return nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_DISABLE, ok()
		},
		GetMaxMigDeviceCountFunc: func() (int, nvml.Return) { return 7, ok() },
		GetMigDeviceHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < len(migDevs) {
				return migDevs[i], nvml.SUCCESS
			}
			return nil, nvml.ERROR_NOT_FOUND
		},
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) { return g.Processes, ok() },
		GetSupportedEventTypesFunc: func() (uint64, nvml.Return) {
			if g.XIDEvents {
				return nvml.EventTypeXidCriticalError | nvml.EventTypeSingleBitEccError, nvml.SUCCESS
			}
			return 0, nvml.ERROR_NOT_SUPPORTED
		},
		RegisterEventsFunc: func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS },
		GpmQueryDeviceSupportFunc: func() (nvml.GpmSupport, nvml.Return) {
			if g.Lost {
				return nvml.GpmSupport{}, nvml.ERROR_GPU_IS_LOST
			}
			if g.GPM {
				return nvml.GpmSupport{Version: nvml.GPM_SUPPORT_VERSION, IsSupportedDevice: 1}, nvml.SUCCESS
			}
			return nvml.GpmSupport{Version: nvml.GPM_SUPPORT_VERSION}, nvml.SUCCESS
		},
		GpmSampleGetFunc: func(s nvml.GpmSample) nvml.Return {
			if g.Lost {
				return nvml.ERROR_GPU_IS_LOST
			}
			return s.Get(d)
		},
	}
	return d
}

// UUID is a deterministic GPU UUID for index i.
func UUID(i int) string {
	return fmt.Sprintf("GPU-%08x-1111-2222-3333-%012x", 0xa0000000+i, i)
}
