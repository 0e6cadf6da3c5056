package collectors

import (
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
	"testing"
)

// TestGzipWriterSurvivesGC: the compressor of a scrape is the previous
// scrape's even after GCs in between (a sync.Pool would have dropped it,
// and the node agent would build a 1.2 MB compressor every other scrape),
// and it writes a valid stream after reuse.
func TestGzipWriterSurvivesGC(t *testing.T) {
	for len(idleGzip) > 0 {
		<-idleGzip
	}
	zw := gzipWriter(io.Discard)
	putGzipWriter(zw)
	runtime.GC()
	runtime.GC()
	var out bytes.Buffer
	again := gzipWriter(&out)
	defer putGzipWriter(again)
	if again != zw {
		t.Fatal("a new compressor after two GCs: the idle one was dropped")
	}
	if _, err := again.Write([]byte("up 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || string(b) != "up 1\n" {
		t.Fatalf("reused compressor wrote %q, %v", b, err)
	}
	// Only one is kept: a second would stay live for good after one
	// overlap of two scrapes.
	a, b := gzipWriter(nil), gzipWriter(nil)
	putGzipWriter(a)
	putGzipWriter(b)
	if n := len(idleGzip); n != 1 {
		t.Errorf("%d idle compressors, want 1", n)
	}
}
