package openapi

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// maxSeed bounds the size of a seed page: the fuzzer mutates and minimises
// whole inputs, and on a 90 KB page of jobs it spends its time minimising
// (12,790 inputs in 90 s) instead of exploring. The small pages cover every
// version and shape.
const maxSeed = 16 << 10

// seed adds every test payload up to maxSeed bytes whose name contains one of
// keys.
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
				if len(b) <= maxSeed {
					f.Add(b)
				}
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
		// A guess at the count (here one off) changes nothing decoded.
		sized, _, serr := DecodeJobsSized(bytes.NewReader(b), len(jobs)+1)
		if (serr == nil) != (err == nil) || !reflect.DeepEqual(sized, jobs) {
			t.Fatalf("DecodeJobsSized: %d jobs, %v; DecodeJobs: %d jobs, %v", len(sized), serr, len(jobs), err)
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

// FuzzReaderSkip checks the hand-written scanner against jsontext: the
// scanner accepts exactly what jsontext accepts, once string contents are
// blanked. That is the scanner's one leniency: skipping a string it looks
// for the closing quote only (escapes, control characters and UTF-8 inside
// are checked when a string is read, by jsontext.AppendUnquote, not when it
// is skipped). Numbers, literals, brackets, names, colons, commas and
// trailing data must agree exactly.
func FuzzReaderSkip(f *testing.F) {
	seed(f, "ping", "partitions")
	for _, s := range []string{`{"a":[1,-2.5e3,"x\"y",true,false,null,{}]}`, `[{"a":1} ,  {"b":[[]]}]`, `{"a" 1}`, `[1,]`, `{"a":1,}`, `"\u00e9"`, `[1 2]`, `{"a":tru}`,
		`{"a":00}`, `-`, `1.`, `.5`, `1e`, `+1`, `01`, `-0.0e+1`, `[1E-2]`, `"\x"`, "\"\x01\"", `{}` + "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader(bytes.NewReader(b))
		err := r.skip()
		// Trailing bytes: peek stops at a NUL as at the end, so look
		// for any byte left after the whitespace.
		if r.peek(); err == nil && r.ensure(1) {
			err = errors.New("trailing data")
		}
		opts := []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}
		if jsontext.Value(b).IsValid(opts...) && err != nil {
			t.Fatalf("jsontext accepts %q, scanner: %v", b, err)
		}
		blank := blankStrings(b)
		_, jerr := jsontext.NewDecoder(bytes.NewReader(blank), opts...).ReadValue()
		if jerr == nil && !jsontext.Value(blank).IsValid(opts...) {
			jerr = errors.New("trailing data")
		}
		switch {
		case err == nil && jerr != nil:
			t.Fatalf("scanner accepts %q, jsontext (strings blanked): %v", b, jerr)
		case err != nil && jerr == nil:
			t.Fatalf("scanner rejects %q (%v), jsontext accepts it with strings blanked", b, err)
		}
	})
}

// blankStrings replaces the contents of every string in b, as the scanner
// delimits them (a backslash takes the next byte with it), by 'x's, keeping
// everything outside strings as it is. A quote outside a string always
// starts one, so this needs no parse.
func blankStrings(b []byte) []byte {
	out := bytes.Clone(b)
	in := false
	for i := 0; i < len(out); i++ {
		switch {
		case !in:
			in = out[i] == '"'
		case out[i] == '"':
			in = false
		case out[i] == '\\' && i+1 < len(out):
			out[i], out[i+1] = 'x', 'x'
			i++
		default:
			out[i] = 'x'
		}
	}
	return out
}
