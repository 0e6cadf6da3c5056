package nvml_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"jobscope/gpu"
	"jobscope/gpu/gputest"
	gpunvml "jobscope/gpu/nvml"
)

// The lister reads each MIG-enabled GPU's instances and skips full GPUs.
func TestMIGUUIDs(t *testing.T) {
	full := gputest.GPU{UUID: gputest.UUID(0), Name: "NVIDIA H100 80GB HBM3"}
	a100 := gputest.A100MIG()
	n := gputest.NewNode("535.54.03", nvml.SUCCESS, []gputest.GPU{full, a100})
	l := gpunvml.NewMIGLister(n.Lib)
	got, err := l.MIGUUIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := a100.UUID
	want := map[gpu.MIGKey][]string{
		{Parent: p, GPUInstanceID: 3}: {gputest.A100MIGGI3},
		{Parent: p, GPUInstanceID: 4}: {gputest.A100MIGGI4},
		{Parent: p, GPUInstanceID: 5}: {gputest.A100MIGGI5},
		{Parent: p, GPUInstanceID: 6}: {gputest.A100MIGGI6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MIGUUIDs() = %v, want %v", got, want)
	}
	// Initialised once, shut down once.
	if _, err := l.MIGUUIDs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(n.Lib.InitCalls()) != 1 {
		t.Errorf("Init called %d times, want 1", len(n.Lib.InitCalls()))
	}
	if err := l.Close(); err != nil || len(n.Lib.ShutdownCalls()) != 1 {
		t.Errorf("Close() = %v, %d shutdowns", err, len(n.Lib.ShutdownCalls()))
	}
	// A GPU instance split into two compute instances gives two UUIDs.
	a100.MIG[1].GI = 3
	n = gputest.NewNode("535.54.03", nvml.SUCCESS, []gputest.GPU{a100})
	got, err = gpunvml.NewMIGLister(n.Lib).MIGUUIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u := got[gpu.MIGKey{Parent: p, GPUInstanceID: 3}]; !reflect.DeepEqual(u, []string{gputest.A100MIGGI3, gputest.A100MIGGI4}) {
		t.Errorf("GI 3 with two compute instances: %v", u)
	}
}

// Without a driver the lister says why, with the backend's reasons, and
// tries Init again on the next call (the caller rate-limits).
func TestMIGUUIDsNoDriver(t *testing.T) {
	n := gputest.NewNode("", nvml.ERROR_LIBRARY_NOT_FOUND, []gputest.GPU{gputest.A100MIG()})
	l := gpunvml.NewMIGLister(n.Lib)
	for range 2 {
		_, err := l.MIGUUIDs(context.Background())
		if !errors.Is(err, gpu.ErrUnavailable) || gpu.Reason(err) != gpu.ReasonLibraryNotFound {
			t.Fatalf("MIGUUIDs() = %v (reason %q), want ErrUnavailable, library_not_found", err, gpu.Reason(err))
		}
	}
	if len(n.Lib.InitCalls()) != 2 {
		t.Errorf("Init called %d times, want 2", len(n.Lib.InitCalls()))
	}
	if err := l.Close(); err != nil || len(n.Lib.ShutdownCalls()) != 0 {
		t.Errorf("Close without init: %v, %d shutdowns", err, len(n.Lib.ShutdownCalls()))
	}
	// The driver appears: the next call answers.
	n.Lib.InitFunc = func() nvml.Return { return nvml.SUCCESS }
	got, err := l.MIGUUIDs(context.Background())
	if err != nil || len(got) != 4 {
		t.Errorf("after the driver loaded: %v, %v", got, err)
	}
}

// The real library, absent from this build host, is a clean error.
func TestMIGUUIDsRealLibraryMissing(t *testing.T) {
	l := gpunvml.NewMIGLister(nil)
	defer func() { _ = l.Close() }()
	_, err := l.MIGUUIDs(context.Background())
	if err == nil {
		t.Skip("NVML is installed on this host")
	}
	if !errors.Is(err, gpu.ErrUnavailable) {
		t.Errorf("MIGUUIDs() = %v, want ErrUnavailable", err)
	}
}
