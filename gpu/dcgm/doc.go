// Package dcgm is GPU telemetry in DCGM's field vocabulary: the GPU backend
// that reads the node's DCGM exporter page (NVIDIA's dcgm-exporter, as the
// GPU Operator installs it) and maps each DCGM_FI_* field onto the gpu
// model in base units, so dashboards and rules see the same jobscope_gpu_*
// series whichever backend runs. It reads the exporter page because the Go
// DCGM binding cannot be obtained here and sites already run the exporter.
//
// The page names a MIG instance only by its parent GPU's UUID and GPU
// instance ID; a gpu.MIGLister (the nvml package's, wired by the command)
// gives it the "MIG-…" UUID that prolog files and the kubelet use.
//
// May import: jobscope/gpu (the model), prometheus/common's text parser and
// client_model's types (the page is parsed, never produced). No
// client_golang, no collectors.
package dcgm
