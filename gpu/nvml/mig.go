package nvml

import (
	"context"
	"fmt"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"jobscope/gpu"
)

// MIGLister reads only the MIG instances' UUIDs, for the dcgm backend: the
// DCGM exporter names a MIG instance by its parent's UUID and GPU instance
// ID, while prolog files and the kubelet name it "MIG-…". It is not the nvml
// Backend because that one registers for XID events, which nobody would
// drain under the dcgm backend.
type MIGLister struct {
	lib nvml.Interface

	mu    sync.Mutex
	ready bool
}

// NewMIGLister returns a lister over lib (nil: the real library). NVML is
// initialised on the first call, and again on the next call after a
// failure; the caller bounds how often it asks.
func NewMIGLister(lib nvml.Interface) *MIGLister {
	if lib == nil {
		lib = nvml.New()
	}
	return &MIGLister{lib: lib}
}

// MIGUUIDs implements gpu.MIGLister. A GPU or instance that does not
// answer is left out (the next call asks again); only a library that
// cannot be initialised or cannot count the GPUs is an error, wrapping
// gpu.ErrUnavailable.
func (l *MIGLister) MIGUUIDs(ctx context.Context) (map[gpu.MIGKey][]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready {
		if ret := l.lib.Init(); ret != nvml.SUCCESS {
			return nil, gpu.Unavailable(reason(ret, gpu.ReasonInitFailed), fmt.Errorf("nvml init: %s", ret.Error()))
		}
		l.ready = true
	}
	n, ret := l.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, gpu.Unavailable(reason(ret, gpu.ReasonQueryFailed), fmt.Errorf("nvml device count: %s", ret.Error()))
	}
	out := map[gpu.MIGKey][]string{}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, ret := l.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		if cur, _, ret := h.GetMigMode(); ret != nvml.SUCCESS || cur != nvml.DEVICE_MIG_ENABLE {
			continue
		}
		parent, ret := h.GetUUID()
		if ret != nvml.SUCCESS {
			continue
		}
		max, ret := h.GetMaxMigDeviceCount()
		if ret != nvml.SUCCESS {
			continue
		}
		for j := 0; j < max; j++ {
			mh, ret := h.GetMigDeviceHandleByIndex(j)
			if ret != nvml.SUCCESS {
				// ERROR_NOT_FOUND: no instance in this slot.
				continue
			}
			gi, ret := mh.GetGpuInstanceId()
			if ret != nvml.SUCCESS {
				continue
			}
			uuid, ret := mh.GetUUID()
			if ret != nvml.SUCCESS {
				continue
			}
			k := gpu.MIGKey{Parent: parent, GPUInstanceID: gi}
			out[k] = append(out[k], uuid)
		}
	}
	return out, nil
}

// Close shuts NVML down if it was initialised.
func (l *MIGLister) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready {
		return nil
	}
	l.ready = false
	if ret := l.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("nvml shutdown: %s", ret.Error())
	}
	return nil
}
