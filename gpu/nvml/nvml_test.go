package nvml_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"jobscope/gpu"
	"jobscope/gpu/gputest"
	gpunvml "jobscope/gpu/nvml"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestNVMLNoDriver(t *testing.T) {
	n := gputest.NewNode("", nvml.ERROR_LIBRARY_NOT_FOUND, nil)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	b := gpunvml.New(n.Lib, c.now)
	if err := b.Init(); !errors.Is(err, gpu.ErrUnavailable) {
		t.Fatalf("Init() = %v, want ErrUnavailable", err)
	}
	if _, err := b.Snapshot(context.Background()); !errors.Is(err, gpu.ErrUnavailable) {
		t.Fatalf("Snapshot() = %v, want ErrUnavailable", err)
	}
	if got := len(n.Lib.InitCalls()); got != 1 {
		t.Errorf("Init called %d times within a minute, want 1 (no retry storm)", got)
	}
	c.t = c.t.Add(61 * time.Second)
	if _, err := b.Snapshot(context.Background()); !errors.Is(err, gpu.ErrUnavailable) {
		t.Fatalf("Snapshot() after retry = %v", err)
	}
	if got := len(n.Lib.InitCalls()); got != 2 {
		t.Errorf("Init called %d times after a minute, want 2", got)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close of an uninitialised backend: %v", err)
	}
}

func TestNVMLDriverLoadedLater(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.ERROR_LIBRARY_NOT_FOUND, []gputest.GPU{{UUID: gputest.UUID(0)}})
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	b := gpunvml.New(n.Lib, c.now)
	if _, err := b.Snapshot(context.Background()); err == nil {
		t.Fatal("want an error before the driver is there")
	}
	n.Lib.InitFunc = func() nvml.Return { return nvml.SUCCESS }
	c.t = c.t.Add(2 * time.Minute)
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot() once the driver is loaded: %v", err)
	}
	if len(snap.Devices) != 1 || snap.DriverVersion != "580.105.08" {
		t.Errorf("got %d devices, driver %q", len(snap.Devices), snap.DriverVersion)
	}
}

func fullNode() []gputest.GPU {
	return []gputest.GPU{
		{
			UUID: gputest.UUID(0), Name: "NVIDIA H100 80GB HBM3", BusID: "00000000:18:00.0", Minor: 0,
			UtilGPU: 87, UtilMemory: 41, MemUsed: 60 << 30, MemTotal: 80 << 30,
			PowerMW: 612_345, LimitMW: 700_000, EnergyMJ: 123_456_789, TempC: 71,
			SMClockMHz: 1980, MemMHz: 2619, ClockReasons: 0x4 | 0x40,
			ECC: [4]uint64{1, 0, 17, 2}, RemapCorr: 3, RemapUnc: 1, RemapPending: true,
			PCIeReplays: 5, NVLinks: 2, NVLinkErrors: [4]uint64{1, 2, 3, 4},
			Processes: []nvml.ProcessInfo{{Pid: 100, UsedGpuMemory: 30 << 30}, {Pid: 101, UsedGpuMemory: ^uint64(0)}},
			XIDEvents: true,
		},
		{
			UUID: gputest.UUID(1), Name: "NVIDIA A100-SXM4-80GB", BusID: "00000000:28:00.0", Minor: 1,
			MemUsed: 10 << 30, MemTotal: 80 << 30,
			MIG: []gputest.MIG{
				{UUID: "MIG-11111111-2222-3333-4444-555555555555", Profile: "3g.40gb", GI: 1, MemUsed: 5 << 30, MemTotal: 40 << 30,
					Processes: []nvml.ProcessInfo{{Pid: 200, UsedGpuMemory: 4 << 30}}},
				{UUID: "MIG-66666666-2222-3333-4444-555555555555", Profile: "3g.40gb", GI: 2, MemTotal: 40 << 30},
			},
		},
		{UUID: gputest.UUID(2), Name: "NVIDIA GeForce RTX 4090", BusID: "00000000:38:00.0", Minor: 2, NotSupported: true, UtilGPU: 5},
	}
}

func TestNVMLSnapshot(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, fullNode())
	b := gpunvml.New(n.Lib, nil)
	n.Queue(nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeXidCriticalError, EventData: 79},
		nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeXidCriticalError, EventData: 79},
		nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeXidCriticalError, EventData: 48},
		// Not an XID: ignored.
		nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeSingleBitEccError})
	if err := b.Init(); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Devices) != 5 {
		t.Fatalf("got %d devices, want 3 GPUs + 2 MIG instances", len(snap.Devices))
	}
	h := snap.Devices[0]
	want := gpu.Device{
		UUID: gputest.UUID(0), Index: 0, Minor: 0, PCIBusID: "00000000:18:00.0", Model: "NVIDIA H100 80GB HBM3",
		GPUInstanceID: -1,
		Utilization:   gpu.R(0.87), MemoryUtilization: gpu.R(0.41),
		MemoryUsed: gpu.R(60 << 30), MemoryTotal: gpu.R(80 << 30),
		Power: gpu.R(612.345), PowerLimit: gpu.R(700), Energy: gpu.R(123456.789),
		TempGPU: gpu.R(71), ClockSM: gpu.R(1980e6), ClockMemory: gpu.R(2619e6),
		Throttle: gpu.ThrottleStates(0x44),
		ECC: []gpu.ECCCount{
			{Type: "corrected", Counter: "volatile", Count: 1}, {Type: "uncorrected", Counter: "volatile", Count: 0},
			{Type: "corrected", Counter: "aggregate", Count: 17}, {Type: "uncorrected", Counter: "aggregate", Count: 2},
		},
		RemappedRowsCorrectable: gpu.R(3), RemappedRowsUncorrectable: gpu.R(1),
		RemapPending: gpu.R(1), RemapFailure: gpu.R(0),
		XIDs:        map[uint64]uint64{79: 2, 48: 1},
		PCIeReplays: gpu.R(5),
		// Two links, each reporting replay=1 recovery=2 crc_flit=3 crc_data=4.
		NVLinkErrors: []gpu.NVLinkCount{{Type: "crc_flit", Count: 6}, {Type: "crc_data", Count: 8}, {Type: "replay", Count: 2}, {Type: "recovery", Count: 4}},
		Processes:    []gpu.Process{{PID: 100, MemoryUsed: gpu.R(30 << 30)}, {PID: 101}},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("H100:\n got %+v\nwant %+v", h, want)
	}
	if got := h.Throttle; !got[2].Active || got[2].Name != "sw_power_cap" || !got[6].Active || got[0].Active {
		t.Errorf("throttle states %+v", got)
	}

	a100 := snap.Devices[1]
	if !a100.MIGEnabled || a100.Utilization.OK || a100.Processes != nil {
		t.Errorf("MIG parent: enabled=%v utilization=%+v processes=%v", a100.MIGEnabled, a100.Utilization, a100.Processes)
	}
	mig := snap.Devices[2]
	wantMIG := gpu.Device{UUID: "MIG-11111111-2222-3333-4444-555555555555", Index: 1, Minor: 1, PCIBusID: "00000000:28:00.0",
		Model: "NVIDIA A100-SXM4-80GB MIG 3g.40gb", Parent: gputest.UUID(1), GPUInstanceID: 1, MIGProfile: "3g.40gb",
		MemoryUsed: gpu.R(5 << 30), MemoryTotal: gpu.R(40 << 30), Processes: []gpu.Process{{PID: 200, MemoryUsed: gpu.R(4 << 30)}}}
	if !reflect.DeepEqual(mig, wantMIG) {
		t.Errorf("MIG instance:\n got %+v\nwant %+v", mig, wantMIG)
	}
	if snap.Devices[3].GPUInstanceID != 2 {
		t.Errorf("second MIG instance: %+v", snap.Devices[3])
	}

	rtx := snap.Devices[4]
	if rtx.Energy.OK || rtx.RemappedRowsCorrectable.OK || rtx.Throttle != nil || rtx.ECC != nil || rtx.NVLinkErrors != nil {
		t.Errorf("unsupported fields must stay unset: %+v", rtx)
	}
	if !rtx.Utilization.OK || rtx.Err != nil {
		t.Errorf("supported fields of an older GPU: %+v", rtx)
	}

	// XIDs are counted since the agent started, not per scrape.
	snap, err = b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Devices[0].XIDs; !reflect.DeepEqual(got, map[uint64]uint64{79: 2, 48: 1}) {
		t.Errorf("XIDs on the next scrape = %v", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(n.Lib.ShutdownCalls()) != 1 {
		t.Error("Close must shut NVML down")
	}
}

func TestNVMLGPULost(t *testing.T) {
	gpus := fullNode()
	gpus = append(gpus, gputest.GPU{UUID: "never-read", NoUUID: true})
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, gpus)
	b := gpunvml.New(n.Lib, nil)
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last := snap.Devices[len(snap.Devices)-1]
	if last.UUID != "" || last.Err == nil || last.Index != 3 {
		t.Errorf("a GPU whose UUID cannot be read: %+v", last)
	}

	// GPU 0 falls off the bus: it keeps its UUID, is marked, the others stay.
	gpus[0].Lost = true
	n2 := gputest.NewNode("580.105.08", nvml.SUCCESS, gpus)
	n.Lib.DeviceGetHandleByIndexFunc = n2.Lib.DeviceGetHandleByIndexFunc
	snap, err = b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := snap.Devices[0]
	if h.UUID != gputest.UUID(0) || h.Err == nil || h.Utilization.OK {
		t.Errorf("lost GPU: %+v", h)
	}
	if snap.Devices[1].Err != nil || snap.Devices[4].Err != nil || !snap.Devices[4].Utilization.OK {
		t.Errorf("other GPUs must be unaffected: %+v / %+v", snap.Devices[1], snap.Devices[4])
	}
}

func TestNVMLCountFails(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, fullNode())
	n.Lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
	b := gpunvml.New(n.Lib, nil)
	if _, err := b.Snapshot(context.Background()); !errors.Is(err, gpu.ErrUnavailable) {
		t.Errorf("Snapshot() = %v, want ErrUnavailable", err)
	}
}

func TestNVMLGPM(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{
		{UUID: gputest.UUID(0), GPM: true, SMUtilPct: 75, TensorPct: 40},
		{UUID: gputest.UUID(1)}, // no GPM (pre-Hopper)
	})
	b := gpunvml.New(n.Lib, nil)
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Devices[0].SMActive.OK {
		t.Error("no SM activity before a second sample")
	}
	snap, err = b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := snap.Devices[0]; d.SMActive != gpu.R(0.75) || d.TensorActive != gpu.R(0.40) {
		t.Errorf("GPM: sm %+v tensor %+v", d.SMActive, d.TensorActive)
	}
	if d := snap.Devices[1]; d.SMActive.OK || d.TensorActive.OK {
		t.Errorf("no GPM, no values: %+v", d)
	}
	if n.LiveSamples != 1 {
		t.Errorf("%d GPM samples alive, want 1 (the last)", n.LiveSamples)
	}
	dev1 := n.Device(1).(interface {
		GpmQueryDeviceSupportCalls() []struct{}
	})
	if got := len(dev1.GpmQueryDeviceSupportCalls()); got != 1 {
		t.Errorf("GPM support asked %d times, want once", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n.LiveSamples != 0 {
		t.Errorf("%d GPM samples leaked after Close", n.LiveSamples)
	}
}

// A one-off error from GpmQueryDeviceSupport is not a "no GPM" answer: the
// question is asked again on a later scrape, at most once a minute. Only
// ERROR_NOT_SUPPORTED (or a successful "not supported") is remembered.
func TestNVMLGPMSupportErrorRetried(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{
		{UUID: gputest.UUID(0), GPM: true, SMUtilPct: 75, TensorPct: 40},
		{UUID: gputest.UUID(1), GPM: true},
	})
	dev0, dev1 := n.Device(0).(*mock.Device), n.Device(1).(*mock.Device)
	supported := dev0.GpmQueryDeviceSupportFunc
	fail := 2
	dev0.GpmQueryDeviceSupportFunc = func() (nvml.GpmSupport, nvml.Return) {
		if fail > 0 {
			fail--
			return nvml.GpmSupport{}, nvml.ERROR_UNKNOWN
		}
		return supported()
	}
	dev1.GpmQueryDeviceSupportFunc = func() (nvml.GpmSupport, nvml.Return) {
		return nvml.GpmSupport{}, nvml.ERROR_NOT_SUPPORTED
	}
	c := &clock{t: time.Unix(1e9, 0)}
	b := gpunvml.New(n.Lib, c.now)
	snap := func(after time.Duration) gpu.Device {
		t.Helper()
		c.t = c.t.Add(after)
		s, err := b.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s.Devices[0]
	}
	asked := func(want0, want1 int) {
		t.Helper()
		if got := len(dev0.GpmQueryDeviceSupportCalls()); got != want0 {
			t.Errorf("GPU 0: GPM support asked %d times, want %d", got, want0)
		}
		if got := len(dev1.GpmQueryDeviceSupportCalls()); got != want1 {
			t.Errorf("GPU 1 (not supported): GPM support asked %d times, want %d", got, want1)
		}
	}
	snap(0) // fails
	asked(1, 1)
	snap(30 * time.Second) // within the minute: not asked
	asked(1, 1)
	snap(30 * time.Second) // fails again
	asked(2, 1)
	snap(time.Minute) // answers: first sample
	asked(3, 1)
	if d := snap(time.Minute); d.SMActive != gpu.R(0.75) || d.TensorActive != gpu.R(0.40) {
		t.Errorf("GPM after a retried support query: sm %+v tensor %+v", d.SMActive, d.TensorActive)
	}
	snap(10 * time.Minute)
	asked(3, 1)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n.LiveSamples != 0 {
		t.Errorf("%d GPM samples leaked after Close", n.LiveSamples)
	}
}

func TestNVMLNoNVLinkAskedOnce(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{{UUID: gputest.UUID(0), NotSupported: true}})
	if _, err := gpunvml.New(n.Lib, nil).Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := n.Device(0).(interface{ GetNvLinkStateCalls() []struct{ N int } })
	if got := len(d.GetNvLinkStateCalls()); got != 1 {
		t.Errorf("NVLink state asked %d times on a GPU without NVLink, want 1", got)
	}
}

// XID 79 is the event of a GPU falling off the bus: by the time it is
// drained, GetUUID on the event's device answers ERROR_GPU_IS_LOST (NVML
// documents that return for nvmlDeviceGetUUID). The event must still be
// counted for that GPU.
func TestNVMLXIDOfLostGPUCounted(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, fullNode())
	b := gpunvml.New(n.Lib, nil)
	if err := b.Init(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	d0 := n.Device(0).(*mock.Device)
	d0.GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
	n.Queue(nvml.EventData{Device: d0, EventType: nvml.EventTypeXidCriticalError, EventData: 79})
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := snap.Devices[0]
	if h.UUID != gputest.UUID(0) || h.XIDs[79] != 1 {
		t.Errorf("XID 79 of the lost GPU: uuid %q, XIDs %v, want 79:1", h.UUID, h.XIDs)
	}
}

// Every reason the nvml backend gives, from the NVML return codes that
// cause them.
func TestNVMLReasons(t *testing.T) {
	for ret, want := range map[nvml.Return]string{
		nvml.ERROR_LIBRARY_NOT_FOUND: gpu.ReasonLibraryNotFound,
		nvml.ERROR_DRIVER_NOT_LOADED: gpu.ReasonDriverNotLoaded,
		nvml.ERROR_NO_PERMISSION:     gpu.ReasonNoPermission,
		nvml.ERROR_UNKNOWN:           gpu.ReasonInitFailed,
	} {
		n := gputest.NewNode("", ret, nil)
		_, err := gpunvml.New(n.Lib, nil).Snapshot(context.Background())
		if got := gpu.Reason(err); got != want || !errors.Is(err, gpu.ErrUnavailable) {
			t.Errorf("init %v: reason %q (%v), want %q", ret, got, err, want)
		}
	}
	// Initialised, but the GPUs cannot be counted.
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{{UUID: gputest.UUID(0)}})
	n.Lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
	_, err := gpunvml.New(n.Lib, nil).Snapshot(context.Background())
	if got := gpu.Reason(err); got != gpu.ReasonQueryFailed {
		t.Errorf("device count failed: reason %q (%v), want query_failed", got, err)
	}
	// A scrape deadline that runs out while reading.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n = gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{{UUID: gputest.UUID(0)}})
	if _, err := gpunvml.New(n.Lib, nil).Snapshot(ctx); gpu.Reason(err) != gpu.ReasonTimeout {
		t.Errorf("cancelled read: reason %q (%v), want timeout", gpu.Reason(err), err)
	}
}

// The real go-nvml loader on a host without the driver's library (this
// test's usual host): library_not_found. Skipped where a driver is
// installed.
func TestNVMLRealLibraryMissing(t *testing.T) {
	b := gpunvml.New(nil, nil)
	err := b.Init()
	if err == nil {
		_ = b.Close()
		t.Skip("an NVIDIA driver is installed here")
	}
	if got := gpu.Reason(err); got != gpu.ReasonLibraryNotFound && got != gpu.ReasonDriverNotLoaded {
		t.Errorf("reason %q (%v), want library_not_found or driver_not_loaded", got, err)
	}
}

// XIDs are counted only for GPUs registered for XID events: those get a
// non-nil map (exported from 0), the others nil (nothing exported).
func TestNVMLXIDsWatched(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{
		{UUID: gputest.UUID(0), XIDEvents: true}, {UUID: gputest.UUID(1)},
	})
	snap, err := gpunvml.New(n.Lib, nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if x := snap.Devices[0].XIDs; x == nil || len(x) != 0 {
		t.Errorf("registered GPU: XIDs %v, want empty, not nil", x)
	}
	if x := snap.Devices[1].XIDs; x != nil {
		t.Errorf("unregistered GPU: XIDs %v, want nil", x)
	}
}
