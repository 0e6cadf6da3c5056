package gpu

import (
	"log/slog"
	"strconv"
)

// LogChanges makes the cache log the backend's and each GPU's state when
// it changes, at the default level: a backend that cannot read the GPUs
// (with its reason and cause) and a GPU that stops answering are warnings,
// their recovery is info. A state that persists is not logged again, so a
// node without a driver writes one line, not one per scrape. Call it before
// the first Snapshot.
func (c *Cache) LogChanges(logger *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health = &healthLog{logger: logger, gpus: map[string]bool{}}
}

// healthLog remembers the last state logged.
type healthLog struct {
	logger *slog.Logger
	seen   bool
	reason string // "" while the backend reads the GPUs
	// gpus: failing (true) or answering, by UUID (or "index N" for a GPU
	// never read), for the GPUs of the last snapshot.
	gpus map[string]bool
}

func (h *healthLog) observe(backend string, snap *Snapshot, err error) {
	reason := Reason(err)
	switch {
	case h.seen && reason == h.reason:
		// Same state: the cause's text may differ (addresses, timings),
		// the reason is what an operator acts on.
	case reason != "":
		h.logger.Warn("GPU backend cannot read the GPUs; serving everything else (jobscope_gpu_backend_up 0)",
			"backend", backend, "reason", reason, "err", err)
	case h.seen:
		h.logger.Info("GPU backend reads the GPUs again", "backend", backend, "gpus", count(snap))
	default:
		h.logger.Info("GPU backend reads the GPUs", "backend", backend, "gpus", count(snap))
	}
	h.seen, h.reason = true, reason
	if snap == nil {
		return // nothing known about single GPUs
	}
	present := make(map[string]bool, len(snap.Devices))
	for i := range snap.Devices {
		d := &snap.Devices[i]
		key := d.UUID
		if key == "" {
			key = "index " + strconv.Itoa(d.Index)
		}
		present[key] = true
		failing := d.Err != nil
		was, known := h.gpus[key]
		h.gpus[key] = failing
		switch {
		case failing && (!known || !was):
			h.logger.Warn("GPU does not answer (jobscope_gpu_up 0)", "uuid", d.UUID, "gpu", d.Index, "err", d.Err)
		case !failing && known && was:
			h.logger.Info("GPU answers again", "uuid", d.UUID, "gpu", d.Index)
		}
	}
	for key := range h.gpus {
		if !present[key] {
			// Gone from the list (MIG reconfigured, GPU removed): a GPU
			// that comes back failing is logged again.
			delete(h.gpus, key)
		}
	}
}

func count(s *Snapshot) int {
	if s == nil {
		return 0
	}
	return len(s.Devices)
}
