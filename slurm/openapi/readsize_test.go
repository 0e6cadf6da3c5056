package openapi

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// readSizes records the largest buffer each Read was offered.
type readSizes struct {
	r   io.Reader
	max int
}

func (s *readSizes) Read(p []byte) (int, error) {
	s.max = max(s.max, len(p))
	return s.r.Read(p)
}

// TestReadSizeGrows checks that a long body is read in pieces that grow to
// maxRead (fewer, larger socket reads; see maxRead) and a short one in no
// more than the initial 64 KiB.
func TestReadSizeGrows(t *testing.T) {
	long := "{\"jobs\":[],\"pad\":[" + strings.Repeat("1,", 20<<20) + "1]}" // 40 MB
	for _, c := range []struct {
		name     string
		body     string
		min, max int
	}{
		{"40 MB", long, 4 << 20, maxRead},
		{"small", `{"jobs":[{"job_id":1}]}`, 1, 64 << 10},
	} {
		rs := &readSizes{r: bytes.NewReader([]byte(c.body))}
		if _, _, err := DecodeJobs(rs); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rs.max < c.min || rs.max > c.max {
			t.Errorf("%s: largest read %d bytes, want %d to %d", c.name, rs.max, c.min, c.max)
		}
	}
}
