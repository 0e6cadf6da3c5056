package dcgm

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"jobscope/gpu"
)

// MIGRefresh is how often, at most, the MIG UUIDs are read again when the
// page shows an instance the last reading did not have (MIG reconfigured,
// or a driver that was not there before).
const MIGRefresh = time.Minute

// Option configures a Backend.
type Option func(*Backend)

// WithMIGLister gives the backend the "MIG-…" UUIDs of the node's MIG
// instances: dcgm-exporter labels a MIG instance's series with its parent
// GPU's UUID and GPU_I_ID only, while prolog files and the kubelet name it
// by its own UUID, so without this its tenants cannot be joined. Without a
// lister, or while the lister has no answer (no driver), an instance keeps
// "<parent UUID>/<GI>". logger may be nil.
func WithMIGLister(l gpu.MIGLister, logger *slog.Logger) Option {
	return func(b *Backend) {
		if l == nil {
			return
		}
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		b.mig = &migNames{lister: l, logger: logger, now: func() time.Time { return b.now() },
			warnedSplit: map[gpu.MIGKey]bool{}}
	}
}

// migNames caches the lister's answer. It is read again only when the page
// shows an instance the cache lacks, and then at most once per MIGRefresh,
// so a node whose driver is missing is not asked on every scrape.
type migNames struct {
	lister gpu.MIGLister
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	uuids map[gpu.MIGKey][]string
	asked time.Time // zero: never
	// warned is set once a failed reading was logged, cleared by a
	// successful one, so a missing driver is logged once, not per scrape.
	warned bool
	// warnedSplit are the GPU instances with several compute instances
	// already logged.
	warnedSplit map[gpu.MIGKey]bool
}

// rename gives each MIG instance in devs its own UUID where the lister
// knows exactly one for its parent and GPU instance ID.
func (m *migNames) rename(ctx context.Context, devs []gpu.Device) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// First whether the page shows an instance the cache lacks: then the
	// whole page is named from one new reading, not half from the old.
	for i := range devs {
		if k, ok := migKey(&devs[i]); ok && m.uuids[k] == nil {
			if m.asked.IsZero() || m.now().Sub(m.asked) >= MIGRefresh {
				m.refresh(ctx)
			}
			break
		}
	}
	for i := range devs {
		d := &devs[i]
		k, ok := migKey(d)
		if !ok {
			continue
		}
		switch uuids := m.uuids[k]; len(uuids) {
		case 0:
		case 1:
			d.UUID = uuids[0]
		default:
			// dcgm-exporter reports the GPU instance, not its compute
			// instances: the page cannot say which one a series is.
			if !m.warnedSplit[k] {
				m.warnedSplit[k] = true
				m.logger.Warn("MIG GPU instance has several compute instances; dcgm-exporter reports it as one, so it keeps <parent UUID>/<GI> and its tenants cannot be joined",
					"parent", k.Parent, "gpu_instance", k.GPUInstanceID, "mig_uuids", uuids)
			}
		}
	}
}

// migKey is a MIG instance's key; ok is false for a full GPU.
func migKey(d *gpu.Device) (gpu.MIGKey, bool) {
	if d.Parent == "" || d.GPUInstanceID < 0 {
		return gpu.MIGKey{}, false
	}
	return gpu.MIGKey{Parent: d.Parent, GPUInstanceID: d.GPUInstanceID}, true
}

// refresh reads the lister; a failure keeps what the last reading had.
func (m *migNames) refresh(ctx context.Context) {
	m.asked = m.now()
	uuids, err := m.lister.MIGUUIDs(ctx)
	if err != nil {
		if !m.warned {
			m.warned = true
			m.logger.Warn(fmt.Sprintf("cannot read the MIG instances' UUIDs through NVML (retried at most every %s when an unknown instance appears): MIG instances keep <parent UUID>/<GI> as uuid, so MIG tenants (prolog files, the kubelet name MIG-… UUIDs) cannot be joined", MIGRefresh),
				"err", err)
		}
		return
	}
	m.warned = false
	m.uuids = uuids
}
