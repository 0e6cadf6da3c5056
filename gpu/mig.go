package gpu

import "context"

// MIGKey names a MIG instance the way a DCGM exporter page does: its
// parent GPU's UUID and its GPU instance ID (NVML's, the GPU_I_ID label).
type MIGKey struct {
	Parent        string
	GPUInstanceID int
}

// MIGLister reads the node's MIG instances with their own "MIG-…" UUIDs,
// which the DCGM exporter's page lacks but prolog files and the kubelet
// use. The nvml package implements it; the dcgm backend takes one, so
// neither backend imports the other.
type MIGLister interface {
	// MIGUUIDs maps every MIG instance of every MIG-enabled GPU to its
	// UUIDs: one per compute instance, so a GPU instance split into
	// several compute instances has several. An error wrapping
	// ErrUnavailable means no driver to ask.
	MIGUUIDs(ctx context.Context) (map[MIGKey][]string, error)
}
