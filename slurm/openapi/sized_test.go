package openapi

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"jobscope/test/loadgen"
)

// TestDecodeJobsSized checks that a guess at the job count changes neither
// the jobs decoded nor the memory kept: whatever the guess (none, low, exact,
// a little high, far too high), the jobs equal DecodeJobs' and the slice
// keeps at most an eighth of its length as spare capacity.
func TestDecodeJobsSized(t *testing.T) {
	const n = 3000 // a few pooled chunks (jobChunk) when the guess is low
	var body bytes.Buffer
	if err := loadgen.WriteJobs(&body, loadgen.Config{Seed: 7, Nodes: 64, Jobs: n}); err != nil {
		t.Fatal(err)
	}
	want, _, err := DecodeJobs(bytes.NewReader(body.Bytes()))
	if err != nil || len(want) != n {
		t.Fatalf("DecodeJobs: %d jobs, %v", len(want), err)
	}
	if cap(want) != n {
		t.Errorf("DecodeJobs: capacity %d for %d jobs, want exact", cap(want), n)
	}
	for _, guess := range []int{0, 1, 1500, n - 1, n, n + 100, 2 * n, 100 * n} {
		got, meta, err := DecodeJobsSized(bytes.NewReader(body.Bytes()), guess)
		if err != nil {
			t.Fatalf("guess %d: %v", guess, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("guess %d: jobs differ from DecodeJobs'", guess)
		}
		if spare := cap(got) - len(got); spare > len(got)/8 {
			t.Errorf("guess %d: %d spare capacity for %d jobs, want at most an eighth", guess, spare, len(got))
		}
		if meta.Cluster == "" {
			t.Errorf("guess %d: no cluster in meta", guess)
		}
	}
	// A guess exactly right is the slice allocated up front: no copy.
	got, _, _ := DecodeJobsSized(bytes.NewReader(body.Bytes()), n)
	if cap(got) != n+n/16 {
		t.Errorf("guess %d: capacity %d, want the first allocation's %d", n, cap(got), n+n/16)
	}
}

// TestDecodeJobsSizedEmptyAndBad checks the ends: no jobs is nil whatever
// the guess, and malformed JSON is an error with no jobs.
func TestDecodeJobsSizedEmptyAndBad(t *testing.T) {
	jobs, _, err := DecodeJobsSized(strings.NewReader(`{"jobs":[]}`), 100000)
	if err != nil || jobs != nil {
		t.Errorf("empty: %v, %v; want nil, nil", jobs, err)
	}
	jobs, _, err = DecodeJobsSized(strings.NewReader(`{"jobs":[{"job_id":1},{"job_id":`), 10)
	if err == nil || jobs != nil {
		t.Errorf("truncated: %d jobs, %v; want nil and an error", len(jobs), err)
	}
}
