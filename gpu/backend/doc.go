// Package backend chooses and configures the GPU backend `jobscope node`
// reads from, nvml, dcgm, simulated or none, from the command's --gpu.*
// and --dcgm.* flags, and puts it behind the gpu.Cache the collectors of
// one scrape share.
//
// It may import the gpu model, its three backends and internal/flagvalue:
// it is the one package that knows every backend (the dcgm backend takes
// its MIG UUIDs from nvml's lister here, so neither backend imports the
// other). No Prometheus code.
package backend
