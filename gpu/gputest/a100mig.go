package gputest

import "github.com/NVIDIA/go-nvml/pkg/nvml"

// The MIG UUIDs of A100MIG's four 1g.20gb instances (GPU instance IDs 3 to
// 6). Invented: the nvidia-smi XML the GPU comes from predates MIG UUIDs in
// its schema (gpu/dcgm/testdata/SOURCES.md).
const (
	A100MIGGI3 = "MIG-3c9a5d1e-8f2b-5a47-9d1c-6e0f2b7a4c13"
	A100MIGGI4 = "MIG-7e1d4b92-0c3a-5f68-b2e4-91d7c5a08f26"
	A100MIGGI5 = "MIG-a5f03c77-4d19-5b2e-8c6a-2f94e1b3d750"
	A100MIGGI6 = "MIG-d28b6e04-7a5c-5e91-a3f7-0b6c49d2e18f"
)

// A100MIG is the A100-SXM4-80GB in MIG mode of
// shared/fixtures/gpu/influxdata-telegraf/a100-sxm4-v12.xml as NVML answers
// for it, the same GPU as the derived DCGM exporter page
// gpu/dcgm/testdata/dcgm-exporter-A100-MIG-derived.prom: what the dcgm
// backend's MIG lister reads on that node.
func A100MIG() GPU {
	mig := func(uuid string, gi int) MIG {
		return MIG{UUID: uuid, Profile: "1g.20gb", GI: gi, MemUsed: 12 << 20, MemTotal: 19968 << 20,
			Processes: []nvml.ProcessInfo{}}
	}
	return GPU{
		UUID: "GPU-513536b6-7d19-9063-b049-1e69664bb298", Name: "NVIDIA A100-SXM4-80GB",
		BusID: "00000000:01:00.0", Minor: 1, MemUsed: 50 << 20, MemTotal: 81920 << 20,
		PowerMW: 67030, LimitMW: 500000, TempC: 27, SMClockMHz: 1275, MemMHz: 1593,
		Processes: []nvml.ProcessInfo{},
		MIG:       []MIG{mig(A100MIGGI3, 3), mig(A100MIGGI4, 4), mig(A100MIGGI5, 5), mig(A100MIGGI6, 6)},
	}
}
