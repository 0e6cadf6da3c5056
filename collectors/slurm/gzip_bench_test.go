package slurm

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/prometheus/common/expfmt"

	"jobscope/slurm"
)

// BenchmarkPageGzipLevel compresses the whole text page of a generated
// cluster (what Warm gzips after every poll, collectors.FamilySet) at the
// gzip levels worth considering for collectors' gzipLevel, and reports the
// compressed size: the level trades the page's size for the CPU of every
// gzip encoding, of both commands (docs/performance.md).
func BenchmarkPageGzipLevel(b *testing.B) {
	eachClusterSize(b, func(b *testing.B, snap *slurm.Snapshot) {
		runner := newRunner(b, snap, 0)
		g, err := runner.Gatherer(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		p, err := g.GatherPage()
		if err != nil {
			b.Fatal(err)
		}
		var page bytes.Buffer
		if err := p.Write(&page, expfmt.NewFormat(expfmt.TypeTextPlain), false); err != nil {
			b.Fatal(err)
		}
		for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed, 2, 3} {
			b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
				var out bytes.Buffer
				b.SetBytes(int64(page.Len()))
				b.ResetTimer()
				start := cpuNanos()
				for range b.N {
					out.Reset()
					zw, _ := gzip.NewWriterLevel(&out, level)
					zw.Write(page.Bytes())
					zw.Close()
				}
				b.ReportMetric(float64(cpuNanos()-start)/float64(b.N)/1e6, "cpu-ms/op")
				b.ReportMetric(float64(out.Len())/1e6, "gzip-MB")
				b.ReportMetric(float64(page.Len())/1e6, "page-MB")
			})
		}
	})
}

// cpuNanos is the process's user and system CPU time so far.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
