package dcgm

import (
	"jobscope/gpu"
)

const mib = 1 << 20

// field maps one DCGM exporter series onto a Device, converting to base
// units.
type field func(d *gpu.Device, v float64)

// Fields is the catalogue of DCGM fields jobscope reads, by exporter metric
// name. Units as dcgm-exporter documents them (etc/default-counters.csv):
// percent, MiB, MHz, mJ. Fields not listed are ignored.
var Fields = map[string]field{
	"DCGM_FI_DEV_GPU_UTIL":      func(d *gpu.Device, v float64) { d.Utilization = gpu.R(v / 100) },
	"DCGM_FI_DEV_MEM_COPY_UTIL": func(d *gpu.Device, v float64) { d.MemoryUtilization = gpu.R(v / 100) },
	"DCGM_FI_DEV_FB_USED":       func(d *gpu.Device, v float64) { d.MemoryUsed = gpu.R(v * mib) },
	"DCGM_FI_DEV_FB_TOTAL":      func(d *gpu.Device, v float64) { d.MemoryTotal = gpu.R(v * mib) },
	// Without FB_TOTAL (not in the default field list) the total is
	// FREE+USED+RESERVED; Parse sums them.
	"DCGM_FI_DEV_FB_FREE":     func(*gpu.Device, float64) {},
	"DCGM_FI_DEV_FB_RESERVED": func(*gpu.Device, float64) {},

	"DCGM_FI_DEV_POWER_USAGE":              func(d *gpu.Device, v float64) { d.Power = gpu.R(v) },
	"DCGM_FI_DEV_POWER_MGMT_LIMIT":         func(d *gpu.Device, v float64) { d.PowerLimit = gpu.R(v) },
	"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": func(d *gpu.Device, v float64) { d.Energy = gpu.R(v / 1000) },
	"DCGM_FI_DEV_GPU_TEMP":                 func(d *gpu.Device, v float64) { d.TempGPU = gpu.R(v) },
	"DCGM_FI_DEV_MEMORY_TEMP":              memoryTemp,
	"DCGM_FI_DEV_SM_CLOCK":                 func(d *gpu.Device, v float64) { d.ClockSM = gpu.R(v * 1e6) },
	"DCGM_FI_DEV_MEM_CLOCK":                func(d *gpu.Device, v float64) { d.ClockMemory = gpu.R(v * 1e6) },
	// Renamed from CLOCK_THROTTLE_REASONS in DCGM 3.3; both carry the bitmask.
	"DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": func(d *gpu.Device, v float64) { d.Throttle = gpu.ThrottleStates(mask(v)) },
	"DCGM_FI_DEV_CLOCKS_EVENT_REASONS":   func(d *gpu.Device, v float64) { d.Throttle = gpu.ThrottleStates(mask(v)) },

	"DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ecc("corrected", "volatile"),
	"DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ecc("uncorrected", "volatile"),
	"DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": ecc("corrected", "aggregate"),
	"DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": ecc("uncorrected", "aggregate"),

	"DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS":   func(d *gpu.Device, v float64) { d.RemappedRowsCorrectable = gpu.R(v) },
	"DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": func(d *gpu.Device, v float64) { d.RemappedRowsUncorrectable = gpu.R(v) },
	"DCGM_FI_DEV_ROW_REMAP_PENDING":           func(d *gpu.Device, v float64) { d.RemapPending = gpu.R(v) },
	"DCGM_FI_DEV_ROW_REMAP_FAILURE":           func(d *gpu.Device, v float64) { d.RemapFailure = gpu.R(v) },
	// A gauge holding the last XID code, never a count of XIDs.
	"DCGM_FI_DEV_XID_ERRORS":          func(d *gpu.Device, v float64) { d.LastXID = gpu.R(v) },
	"DCGM_FI_DEV_PCIE_REPLAY_COUNTER": func(d *gpu.Device, v float64) { d.PCIeReplays = gpu.R(v) },

	"DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL": nvlink("crc_flit"),
	"DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL": nvlink("crc_data"),
	"DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL":   nvlink("replay"),
	"DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL": nvlink("recovery"),

	"DCGM_FI_PROF_SM_ACTIVE":          func(d *gpu.Device, v float64) { d.SMActive = gpu.R(v) },
	"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": func(d *gpu.Device, v float64) { d.TensorActive = gpu.R(v) },
	"DCGM_FI_PROF_DRAM_ACTIVE":        func(d *gpu.Device, v float64) { d.DRAMActive = gpu.R(v) },
	"DCGM_FI_PROF_GR_ENGINE_ACTIVE":   func(d *gpu.Device, v float64) { d.GraphicsActive = gpu.R(v) },
}

// memoryTemp reads DCGM_FI_DEV_MEMORY_TEMP, the HBM sensor. A GPU without
// one (GDDR boards such as the L4 and L40S, where nvidia-smi prints
// memory_temp "N/A") and a vGPU guest get 0 from DCGM instead of a blank,
// as the recorded pages in testdata show next to a GPU temperature of
// 31–32 °C. Memory at 0 °C beside a working GPU is not a reading, so 0 is
// taken for "no sensor" and the field stays absent.
func memoryTemp(d *gpu.Device, v float64) {
	if v != 0 {
		d.TempMemory = gpu.R(v)
	}
}

func ecc(typ, counter string) field {
	return func(d *gpu.Device, v float64) {
		d.ECC = append(d.ECC, gpu.ECCCount{Type: typ, Counter: counter, Count: v})
	}
}

func nvlink(typ string) field {
	return func(d *gpu.Device, v float64) {
		d.NVLinkErrors = append(d.NVLinkErrors, gpu.NVLinkCount{Type: typ, Count: v})
	}
}

func mask(v float64) uint64 {
	if v < 0 || v != v || v > 1<<53 {
		return 0
	}
	return uint64(v)
}
