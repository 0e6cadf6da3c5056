package gpu

// PagingXIDs are the XID codes that mean the GPU itself needs attention
// (reset, drain, service), as NVIDIA's Xid catalogue classes them
// (https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html and
// the dynamic page retirement / row remapping pages). The gpu collector
// exports jobscope_gpu_xid_errors_total at 0 for each of them on every GPU
// whose XIDs the backend counts, so that increase() sees the first one: a
// counter that appears at 1 has no earlier sample to increase from, and the
// first fault of a GPU is the one on-call must not miss.
//
// Not listed, on purpose: codes NVIDIA attributes to the application or
// that follow another fault (13 graphics engine exception, 31 memory page
// fault, 43 GPU stopped processing / channel reset, 45 preemptive cleanup).
// They page nobody by themselves; they still count in
// jobscope_gpu_xid_events_total and get their own xid series from their
// first event.
var PagingXIDs = []uint64{
	48,  // double-bit ECC error (DBE)
	63,  // row remap / page retirement recorded: reset the GPU to apply it
	64,  // row remap / page retirement failed
	74,  // NVLink error
	79,  // GPU has fallen off the bus
	92,  // high single-bit ECC error rate
	94,  // contained ECC error: the application using the memory was stopped
	95,  // uncontained ECC error: every application on the GPU is affected, reset needed
	119, // GSP RPC timeout
	120, // GSP error
	154, // GPU recovery action changed (reset, reboot or drain required)
}
