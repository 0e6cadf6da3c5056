package openapi

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
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

// FuzzReaderSkip checks the hand-written scanner against jsontext: every
// value jsontext accepts, the scanner skips to the same end; and it never
// accepts input whose brackets jsontext finds unbalanced or truncated.
func FuzzReaderSkip(f *testing.F) {
	seed(f, "ping", "partitions")
	for _, s := range []string{`{"a":[1,-2.5e3,"x\"y",true,false,null,{}]}`, `[{"a":1} ,  {"b":[[]]}]`, `{"a" 1}`, `[1,]`, `{"a":1,}`, `"\u00e9"`, `[1 2]`, `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader(bytes.NewReader(b))
		err := r.skip()
		if err == nil && r.peek() != 0 {
			err = errors.New("trailing data")
		}
		valid := jsontext.Value(b).IsValid(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
		if valid && err != nil {
			t.Fatalf("jsontext accepts %q, scanner: %v", b, err)
		}
		if !valid && err == nil {
			// Leniencies shared with nothing structural: number grammar,
			// escapes and control characters inside strings.
			d := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
			_, jerr := d.ReadValue()
			var se *jsontext.SyntacticError
			if errors.As(jerr, &se) && (strings.Contains(se.Error(), "string") || strings.Contains(se.Error(), "number") || strings.Contains(se.Error(), "escape")) {
				return
			}
			if jerr == nil {
				return // trailing whitespace or such
			}
			t.Fatalf("scanner accepts %q, jsontext: %v", b, jerr)
		}
	})
}
