//go:build unix

package openapi

import "syscall"

// processCPU is the CPU time (user+system, all threads) the process has used,
// in seconds. Benchmarks report throughput per CPU-second next to wall-clock
// throughput because the benchmark machines are shared and wall time there
// says as much about the neighbours as about the code.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
