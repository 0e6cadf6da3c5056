package openapi

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seed adds every test payload whose name contains one of keys.
func seed(f *testing.F, keys ...string) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		for _, k := range keys {
			if strings.Contains(file, k) {
				b, err := os.ReadFile(file)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
				break
			}
		}
	}
	f.Add([]byte(`{"jobs":[{"job_state":["RUNNING"],"array_task_id":{"set":true,"number":-5}}],"errors":[{"error":"x"}]}`))
	f.Add([]byte(`{"sinfo":[{"nodes":{"nodes":["n[1-3]"]},"node":{"state":"idle*"}}]}`))
}

func FuzzDecodeJobs(f *testing.F) {
	seed(f, "job", "squeue")
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, _, err := DecodeJobs(bytes.NewReader(b))
		if err != nil && jobs != nil {
			t.Fatal("jobs returned with error")
		}
	})
}

func FuzzDecodeNodes(f *testing.F) {
	seed(f, "node", "sinfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, _, err := DecodeNodes(bytes.NewReader(b))
		if err != nil && nodes != nil {
			t.Fatal("nodes returned with error")
		}
		for _, n := range nodes {
			if n.State == "" {
				t.Fatal("empty state")
			}
		}
	})
}

func FuzzDecodePartitions(f *testing.F) {
	seed(f, "partition")
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = DecodePartitions(bytes.NewReader(b)) })
}

func FuzzDecodeDiag(f *testing.F) {
	seed(f, "diag")
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _, err := DecodeDiag(bytes.NewReader(b))
		if err == nil && d == nil {
			t.Fatal("nil diag without error")
		}
	})
}

func FuzzDecodePing(f *testing.F) {
	seed(f, "ping")
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = DecodePing(bytes.NewReader(b)) })
}

func FuzzDecodeShares(f *testing.F) {
	seed(f, "shares")
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = DecodeShares(bytes.NewReader(b)) })
}
