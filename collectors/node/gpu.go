package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"jobscope/collectors"
	"jobscope/gpu"
)

// gpuCollector exports every GPU's telemetry keyed by {uuid, gpu}. No job
// labels: the join is jobscope_gpu_tenant_info.
type gpuCollector struct {
	deps Deps

	info, up, util, memUtil, memUsed, memTotal *collectors.FamilyDesc
	power, powerLimit, energy, temp, clock     *collectors.FamilyDesc
	throttle, ecc, remapped, remapPending      *collectors.FamilyDesc
	remapFailure, xid, xidEvents, lastXID      *collectors.FamilyDesc
	pcieReplays                                *collectors.FamilyDesc
	nvlink, smActive, tensorActive, dramActive *collectors.FamilyDesc
	graphicsActive, processes, processMemory   *collectors.FamilyDesc
}

var gpuLabels = []string{"uuid", "gpu"}

func gdesc(name, help string, extra ...string) *collectors.FamilyDesc {
	return gaugeDesc("gpu_"+name, help, slices.Concat(gpuLabels, extra)...)
}

func gcounter(name, help string, extra ...string) *collectors.FamilyDesc {
	return counterDesc("gpu_"+name, help, slices.Concat(gpuLabels, extra)...)
}

func newGPUCollector(d Deps) (collectors.Collector, error) {
	c := &gpuCollector{
		deps: d,
		info: gdesc("info", "GPU or MIG instance inventory (always 1). parent_uuid, gpu_instance and mig_profile are set on MIG instances; node is Slurm's NodeName, gres_index Slurm's GRES index of the GPU once a prolog file named it.",
			"minor", "pci_bus_id", "model", "driver", "parent_uuid", "gpu_instance", "mig_profile", "mig_enabled", "backend",
			"node", "gres_index"),
		up:             gdesc("up", "Whether the GPU answered (1) or failed, e.g. fell off the bus (0)."),
		util:           gdesc("utilization_ratio", "Ratio of time one or more kernels ran on the GPU over the last sample period."),
		memUtil:        gdesc("memory_utilization_ratio", "Ratio of time device memory was read or written over the last sample period."),
		memUsed:        gdesc("memory_used_bytes", "Device memory in use."),
		memTotal:       gdesc("memory_total_bytes", "Device memory in total."),
		power:          gdesc("power_watts", "Power draw."),
		powerLimit:     gdesc("power_limit_watts", "Enforced power limit."),
		energy:         gcounter("energy_joules_total", "Energy used since the driver loaded."),
		temp:           gdesc("temperature_celsius", "Temperature by sensor (gpu, memory).", "sensor"),
		clock:          gdesc("clock_hertz", "Current clock by domain (sm, memory).", "clock"),
		throttle:       gdesc("throttle_reason", "Whether a clock event (throttle) reason is active (1) or not (0).", "reason"),
		ecc:            gcounter("ecc_errors_total", "ECC errors by type (corrected, uncorrected) and counter (volatile since driver load, aggregate over the GPU's life).", "type", "counter"),
		remapped:       gcounter("remapped_rows_total", "Memory rows remapped, by the error type that caused it (correctable, uncorrectable).", "type"),
		remapPending:   gdesc("row_remap_pending", "Whether a row remap is pending until the GPU is reset (1) or not (0)."),
		remapFailure:   gdesc("row_remap_failure", "Whether a row remap has failed (1) or not (0); the GPU needs service."),
		xid:            gcounter("xid_errors_total", "XID error events by XID code since the agent started (nvml backend); the codes that page exist from 0.", "xid"),
		xidEvents:      gcounter("xid_events_total", "XID error events of any code since the agent started (nvml backend; from 0 on every GPU registered for XID events)."),
		lastXID:        gdesc("last_xid", "The last XID error code the GPU reported, 0 for none (dcgm backend; DCGM keeps no count: alert on changes(), not rate())."),
		pcieReplays:    gcounter("pcie_replays_total", "PCIe replays (retries)."),
		nvlink:         gcounter("nvlink_errors_total", "NVLink errors summed over the GPU's links, by type (crc_flit, crc_data, replay, recovery).", "type"),
		smActive:       gdesc("sm_active_ratio", "Ratio of cycles an SM had at least one warp assigned (GPM or DCGM profiling)."),
		tensorActive:   gdesc("tensor_active_ratio", "Ratio of cycles the tensor pipes were active (GPM or DCGM profiling)."),
		dramActive:     gdesc("dram_active_ratio", "Ratio of cycles the memory interface was active (DCGM profiling)."),
		graphicsActive: gdesc("graphics_engine_active_ratio", "Ratio of time the graphics or compute engine was active (DCGM profiling)."),
		processes:      gdesc("processes", "Compute processes running on the GPU."),
		processMemory:  gdesc("processes_memory_used_bytes", "Device memory used by the GPU's compute processes together."),
	}
	return familyCollector{c.build}, nil
}

func (c *gpuCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	if c.deps.GPUs == nil {
		return collectors.ErrNoData
	}
	snap, err := c.deps.GPUs(ctx)
	if err != nil {
		if errors.Is(err, gpu.ErrUnavailable) {
			return fmt.Errorf("%w: %v", collectors.ErrNoData, err)
		}
		return err
	}
	id, gres := c.deps.nodeFacts(ctx)
	// A GPU that fails is jobscope_gpu_up 0 (and a warning, logged by the
	// GPU cache when its state changes); the collector read the backend,
	// so it succeeded: agent health and GPU health stay apart.
	for i := range snap.Devices {
		d := &snap.Devices[i]
		if d.UUID == "" {
			// Never read (lost before its UUID was known): only the index
			// identifies it, so alerts on jobscope_gpu_up == 0 still fire.
			e.Add(c.up, 0, "", strconv.Itoa(d.Index))
			continue
		}
		c.device(e, snap, d, id.Node, gresLabel(gres, d.UUID))
	}
	return nil
}

func (c *gpuCollector) device(e *collectors.FamilyBuilder, snap *gpu.Snapshot, d *gpu.Device, node, gresIndex string) {
	uuid, idx := d.UUID, strconv.Itoa(d.Index)
	minor, gi := "", ""
	if d.Minor >= 0 {
		minor = strconv.Itoa(d.Minor)
	}
	if d.GPUInstanceID >= 0 {
		gi = strconv.Itoa(d.GPUInstanceID)
	}
	e.Add(c.info, 1, uuid, idx, minor, d.PCIBusID, d.Model, snap.DriverVersion, d.Parent, gi, d.MIGProfile,
		strconv.FormatBool(d.MIGEnabled), snap.Backend, node, gresIndex)
	up := 1.0
	if d.Err != nil {
		up = 0
	}
	e.Add(c.up, up, uuid, idx)

	// One label buffer for the GPU's series: the builder copies the
	// values, so the buffer is reused instead of allocated per series.
	lbl := make([]string, 2, 4)
	labels := func(extra []string) []string {
		lbl = append(lbl[:0], uuid, idx)
		return append(lbl, extra...)
	}
	// The family's type is its desc's: gauge and counter only say which
	// the series is where it is added.
	gauge := func(desc *collectors.FamilyDesc, r gpu.Reading, extra ...string) {
		if r.OK {
			e.Add(desc, r.Value, labels(extra)...)
		}
	}
	counter := gauge
	gauge(c.util, d.Utilization)
	gauge(c.memUtil, d.MemoryUtilization)
	gauge(c.memUsed, d.MemoryUsed)
	gauge(c.memTotal, d.MemoryTotal)
	gauge(c.power, d.Power)
	gauge(c.powerLimit, d.PowerLimit)
	counter(c.energy, d.Energy)
	gauge(c.temp, d.TempGPU, "gpu")
	gauge(c.temp, d.TempMemory, "memory")
	gauge(c.clock, d.ClockSM, "sm")
	gauge(c.clock, d.ClockMemory, "memory")
	for _, s := range d.Throttle {
		gauge(c.throttle, gpu.R(b2f(s.Active)), s.Name)
	}
	for _, x := range d.ECC {
		counter(c.ecc, gpu.R(x.Count), x.Type, x.Counter)
	}
	counter(c.remapped, d.RemappedRowsCorrectable, "correctable")
	counter(c.remapped, d.RemappedRowsUncorrectable, "uncorrectable")
	gauge(c.remapPending, d.RemapPending)
	gauge(c.remapFailure, d.RemapFailure)
	c.xids(e, d, uuid, idx)
	gauge(c.lastXID, d.LastXID)
	counter(c.pcieReplays, d.PCIeReplays)
	for _, n := range d.NVLinkErrors {
		counter(c.nvlink, gpu.R(n.Count), n.Type)
	}
	gauge(c.smActive, d.SMActive)
	gauge(c.tensorActive, d.TensorActive)
	gauge(c.dramActive, d.DRAMActive)
	gauge(c.graphicsActive, d.GraphicsActive)
	// Processes only where the backend lists them (nvml, simulated), so a
	// dcgm node does not claim "0 processes".
	if d.Processes != nil {
		gauge(c.processes, gpu.R(float64(len(d.Processes))))
		var mem float64
		for _, p := range d.Processes {
			mem += p.MemoryUsed.Value
		}
		gauge(c.processMemory, gpu.R(mem))
	}
}

// xids exports the XID counts of a GPU whose backend counts them (XIDs
// non-nil): the total from 0, and each code of gpu.PagingXIDs from 0 beside
// every code seen, so that increase() sees the first event of each.
func (c *gpuCollector) xids(e *collectors.FamilyBuilder, d *gpu.Device, uuid, idx string) {
	if d.XIDs == nil {
		return
	}
	var total uint64
	codes := make([]uint64, 0, len(gpu.PagingXIDs)+len(d.XIDs))
	codes = append(codes, gpu.PagingXIDs...)
	for k, n := range d.XIDs {
		total += n
		if !slices.Contains(gpu.PagingXIDs, k) {
			codes = append(codes, k)
		}
	}
	e.Add(c.xidEvents, float64(total), uuid, idx)
	slices.Sort(codes)
	lbl := make([]string, 3)
	for _, k := range codes {
		lbl[0], lbl[1], lbl[2] = uuid, idx, strconv.FormatUint(k, 10)
		e.Add(c.xid, float64(d.XIDs[k]), lbl...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
