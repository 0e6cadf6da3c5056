//go:build !jobscope_nodeonly

package collectors

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// gzipCompressor is the full binary's page compressor:
// github.com/klauspost/compress at level 1. On `jobscope slurm`'s page it
// takes about half of compress/gzip BestSpeed's CPU (85 against 158 ms at
// 100k jobs, after every poll) for a page 3 % smaller, and its state is
// 0.82 instead of 1.2 MB (docs/performance.md). The node-only binary keeps
// compress/gzip (gzip_nodeonly.go): net/http links that one anyway, and
// this second flate would be 175 KB more of the agent's file-backed
// resident memory for ≈ 0.2 ms of CPU a scrape.
type gzipCompressor = gzip.Writer

func newGzipWriter(w io.Writer) *gzipCompressor {
	zw, err := gzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		panic(err) // a constant level: a programming error
	}
	return zw
}
