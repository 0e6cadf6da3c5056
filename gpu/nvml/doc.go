// Package nvml is the GPU backend that reads the NVIDIA driver through
// go-nvml: inventory, load, power, energy, clocks, throttle reasons, ECC and
// row remapping, PCIe and NVLink errors, XID events, GPM activity, MIG
// instances and processes, filled into the gpu model. A host without the
// driver makes the backend unavailable (gpu.ErrUnavailable) and init is
// retried, so a driver loaded later is picked up.
//
// The go-nvml package is also named nvml; inside this package "nvml."
// always means go-nvml, and importers that need both alias this one.
//
// May import: jobscope/gpu (the model) and go-nvml. No Prometheus code.
package nvml
