package slurm

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/expfmt"

	"jobscope/slurm"
)

// BenchmarkPageGzipLevel compresses the whole text page of a generated
// cluster (what Warm gzips after every poll, collectors.FamilySet) at the
// compress/gzip levels worth considering for collectors' gzipLevel (the
// node-only binary's compressor) and with klauspost/compress at level 1
// (the full binary's), and reports the compressed size: the level trades
// the page's size for the CPU of every gzip encoding, of both commands
// (docs/performance.md).
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
		type compressor struct {
			name string
			new  func(io.Writer) io.WriteCloser
		}
		var compressors []compressor
		for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed, 2, 3} {
			compressors = append(compressors, compressor{fmt.Sprintf("level=%d", level), func(w io.Writer) io.WriteCloser {
				zw, _ := gzip.NewWriterLevel(w, level)
				return zw
			}})
		}
		// The full binary's compressor (collectors/gzip_full.go); the
		// node-only binary's is compress/gzip's level=1.
		compressors = append(compressors, compressor{"klauspost/level=1", func(w io.Writer) io.WriteCloser {
			zw, _ := kgzip.NewWriterLevel(w, kgzip.BestSpeed)
			return zw
		}})
		for _, c := range compressors {
			b.Run(c.name, func(b *testing.B) {
				var out bytes.Buffer
				b.SetBytes(int64(page.Len()))
				b.ResetTimer()
				start := cpuNanos()
				for range b.N {
					out.Reset()
					zw := c.new(&out)
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
