//go:build jobscope_nodeonly

package collectors

import (
	"compress/gzip"
	"io"
)

// gzipCompressor is the node-only binary's page compressor: the standard
// library's, which net/http links anyway. The full binary's
// (gzip_full.go) is faster but a second flate implementation, 175 KB of
// text that jobscope-node's resident memory, its tight budget, would carry
// for ≈ 0.2 ms of CPU a scrape (docs/performance.md).
type gzipCompressor = gzip.Writer

func newGzipWriter(w io.Writer) *gzipCompressor {
	zw, err := gzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		panic(err) // a constant level: a programming error
	}
	return zw
}
