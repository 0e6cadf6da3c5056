// Package simulated is a deterministic synthetic GPU backend for the demo
// and tests: its readings depend only on a seed (the host name), the GPU
// index and the clock, and its energy counter is the exact integral of its
// power, so it stays monotonic. It is never a default backend.
//
// May import: jobscope/gpu (the model) only.
package simulated
