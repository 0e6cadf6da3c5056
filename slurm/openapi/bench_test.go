package openapi

import (
	"bytes"
	"sync"
	"testing"

	"jobscope/test/loadgen"
)

// payloads caches generated bodies so -count>1 does not regenerate them.
var (
	payloadsMu sync.Mutex
	payloads   = map[string][]byte{}
)

// sizeHint pre-sizes the buffer: growing one to 780 MB by doubling costs
// more than generating it.
func payload(b *testing.B, name string, sizeHint int, write func(*bytes.Buffer) error) []byte {
	payloadsMu.Lock()
	defer payloadsMu.Unlock()
	if p, ok := payloads[name]; ok {
		return p
	}
	var buf bytes.Buffer
	buf.Grow(sizeHint)
	if err := write(&buf); err != nil {
		b.Fatal(err)
	}
	payloads[name] = buf.Bytes()
	return buf.Bytes()
}

// benchJobs is the job count of BenchmarkDecodeJobs100k.
const benchJobs = 100000

// BenchmarkDecodeJobs100k decodes a v0.0.44 /jobs body of 100k jobs (about
// 70% running with per-core job_resources), the size DESIGN.md plans for.
func BenchmarkDecodeJobs100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100k jobs (~780 MB) skipped under -short")
	}
	p := payload(b, "jobs100k", 800<<20, func(w *bytes.Buffer) error {
		return loadgen.WriteJobs(w, loadgen.Config{Seed: 1, Nodes: 10000, Jobs: benchJobs})
	})
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		jobs, _, err := DecodeJobs(bytes.NewReader(p))
		if err != nil || len(jobs) != benchJobs {
			b.Fatal(err, len(jobs))
		}
	}
	reportCPU(b, cpu0, len(p))
}

// reportCPU adds throughput per CPU-second of the whole process (GC
// included): on a shared machine it is steadier than MB/s, which is per
// wall-clock second.
func reportCPU(b *testing.B, cpu0 float64, size int) {
	if cpu := processCPU() - cpu0; cpu > 0 && cpu0 > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/cpu/1e6, "MB/cpu-s")
	}
}

// BenchmarkDecodeNodes10k decodes a v0.0.44 /nodes body of 10k GPU nodes.
func BenchmarkDecodeNodes10k(b *testing.B) {
	p := payload(b, "nodes10k", 40<<20, func(w *bytes.Buffer) error {
		return loadgen.WriteNodes(w, loadgen.Config{Seed: 1, Nodes: 10000})
	})
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		nodes, _, err := DecodeNodes(bytes.NewReader(p))
		if err != nil || len(nodes) != 10000 {
			b.Fatal(err, len(nodes))
		}
	}
	reportCPU(b, cpu0, len(p))
}
