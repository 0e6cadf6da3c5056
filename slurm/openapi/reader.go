// Package openapi decodes slurmrestd responses and the JSON output of squeue,
// sinfo and sdiag (the same data_parser schemas) into jobscope's typed model.
//
// Payloads are large (a running job is 8-32 KB of JSON in v0.0.40+, so 100k
// jobs is over a gigabyte), so every decoder streams tokens with jsontext,
// reads only the fields the model needs and skips the rest unparsed. One
// decoder per resource handles every data_parser version from v0.0.37 to
// v0.0.45: the differences (plain numbers vs {set,infinite,number} objects,
// string vs list states, renamed and regrouped fields) are absorbed where each
// field is read.
package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// reader wraps a jsontext.Decoder with the few typed reads the decoders need.
// Every method consumes exactly one JSON value, or returns an error.
type reader struct {
	d *jsontext.Decoder
	// key is scratch space for unescaping object names; names are compared
	// without allocating.
	key []byte
	// warnings are the first maxWarnings values that could not be parsed
	// (a GRES, TRES or hostlist string from a Slurm we do not know); the
	// record they belong to is kept with that field left empty. dropped
	// counts the ones beyond.
	warnings []string
	dropped  int
}

// maxWarnings bounds how many parse warnings one response records; the rest
// are only counted.
const maxWarnings = 10

// warn records a value that could not be parsed but does not invalidate the
// response.
func (r *reader) warn(format string, args ...any) {
	if len(r.warnings) >= maxWarnings {
		r.dropped++
		return
	}
	r.warnings = append(r.warnings, "jobscope: "+fmt.Sprintf(format, args...))
}

// flushWarnings appends the recorded parse warnings to meta.
func (r *reader) flushWarnings(m *Meta) {
	m.Warnings = append(m.Warnings, r.warnings...)
	if r.dropped > 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("jobscope: %d more unparseable values left empty", r.dropped))
	}
}

func newReader(r io.Reader) *reader {
	// Duplicate-name checks cost a map per object and Slurm never emits
	// duplicates; invalid UTF-8 in a job name must not fail a whole poll.
	return &reader{d: jsontext.NewDecoder(r,
		jsontext.AllowDuplicateNames(true),
		jsontext.AllowInvalidUTF8(true))}
}

// errorf wraps an error with the JSON pointer where it happened.
func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("openapi: at %s: %s", r.d.StackPointer(), fmt.Sprintf(format, args...))
}

func (r *reader) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("openapi: %w", err)
}

func (r *reader) skip() error { return r.wrap(r.d.SkipValue()) }

// object reads an object, calling fn with each name; fn must consume the
// value. null is accepted as an empty object, since Slurm prints null for
// unset nested structs in older versions.
func (r *reader) object(fn func(name []byte) error) error {
	switch k := r.d.PeekKind(); k {
	case 'n':
		return r.skip()
	case '{':
	case 0:
		_, err := r.d.ReadToken()
		return r.wrap(err)
	default:
		err := r.errorf("want object, got %v", k)
		if serr := r.d.SkipValue(); serr != nil {
			return r.wrap(serr)
		}
		return err
	}
	if _, err := r.d.ReadToken(); err != nil {
		return r.wrap(err)
	}
	for r.d.PeekKind() != '}' {
		v, err := r.d.ReadValue()
		if err != nil {
			return r.wrap(err)
		}
		name := []byte(v[1 : len(v)-1])
		if bytes.IndexByte(name, '\\') >= 0 {
			r.key, err = jsontext.AppendUnquote(r.key[:0], v)
			if err != nil {
				return r.wrap(err)
			}
			name = r.key
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	_, err := r.d.ReadToken()
	return r.wrap(err)
}

// array reads an array, calling fn once per element; fn must consume it.
// null is accepted as an empty array.
func (r *reader) array(fn func() error) error {
	switch k := r.d.PeekKind(); k {
	case 'n':
		return r.skip()
	case '[':
	case 0:
		_, err := r.d.ReadToken()
		return r.wrap(err)
	default:
		return r.mismatch("array", k)
	}
	if _, err := r.d.ReadToken(); err != nil {
		return r.wrap(err)
	}
	for r.d.PeekKind() != ']' {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err := r.d.ReadToken()
	return r.wrap(err)
}

// mismatch reports a value of the wrong kind after skipping it, so that the
// error names what was expected.
func (r *reader) mismatch(want string, got jsontext.Kind) error {
	err := r.errorf("want %s, got %v", want, got)
	if serr := r.d.SkipValue(); serr != nil {
		return r.wrap(serr)
	}
	return err
}

// str reads a string; null reads as "".
func (r *reader) str() (string, error) {
	tok, err := r.d.ReadToken()
	if err != nil {
		return "", r.wrap(err)
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 'n':
		return "", nil
	}
	return "", r.errorf("want string, got %v", tok.Kind())
}

// strs reads a list of strings, or a single string (v0.0.38 prints
// features as "a,b" where later versions print ["a","b"]; a single string is
// returned as one element unless split is set, when it is split on commas).
func (r *reader) strs(split bool) ([]string, error) {
	if r.d.PeekKind() != '[' {
		s, err := r.str()
		if err != nil || s == "" {
			return nil, err
		}
		if split {
			return strings.Split(s, ","), nil
		}
		return []string{s}, nil
	}
	var out []string
	err := r.array(func() error {
		s, err := r.str()
		if err == nil && s != "" {
			out = append(out, s)
		}
		return err
	})
	return out, err
}

// number is a value that v0.0.40+ may wrap as {"set","infinite","number"}.
type number struct {
	v        float64
	set      bool
	infinite bool
}

// num reads a plain number, null (unset), or a no_val struct. A boolean is
// read as 0/1 because a few counters changed type between versions.
func (r *reader) num() (number, error) {
	switch k := r.d.PeekKind(); k {
	case '{':
		n := number{set: true}
		err := r.object(func(name []byte) error {
			switch string(name) {
			case "set":
				b, err := r.boolean()
				n.set = b
				return err
			case "infinite":
				b, err := r.boolean()
				n.infinite = b
				return err
			case "number":
				v, err := r.num()
				n.v = v.v
				return err
			}
			return r.skip()
		})
		if !n.set {
			n.v = 0
		}
		return n, err
	case 'n':
		return number{}, r.skip()
	case '0':
		tok, err := r.d.ReadToken()
		if err != nil {
			return number{}, r.wrap(err)
		}
		f, err := tok.Float()
		if err != nil {
			return number{}, r.errorf("bad number: %v", err)
		}
		return number{v: f, set: true}, nil
	case 't', 'f':
		b, err := r.boolean()
		if b {
			return number{v: 1, set: true}, err
		}
		return number{set: true}, err
	case 0:
		_, err := r.d.ReadToken()
		return number{}, r.wrap(err)
	default:
		return number{}, r.mismatch("number", k)
	}
}

func (r *reader) boolean() (bool, error) {
	tok, err := r.d.ReadToken()
	if err != nil {
		return false, r.wrap(err)
	}
	switch tok.Kind() {
	case 't':
		return true, nil
	case 'f', 'n':
		return false, nil
	}
	return false, r.errorf("want bool, got %v", tok.Kind())
}

// u64 reads a non-negative integer; unset, infinite, negative (Slurm's -1 for
// "unlimited" in old versions) and NaN read as 0.
func (r *reader) u64() (uint64, error) {
	n, err := r.num()
	return n.u64(), err
}

func (r *reader) u32() (uint32, error) {
	n, err := r.num()
	v := n.u64()
	if v > math.MaxUint32 {
		// Slurm's NO_VAL sentinels are 0xfffffffe/0xffffffff in uint32
		// fields; treat anything beyond as unset.
		return 0, err
	}
	return uint32(v), err
}

func (n number) u64() uint64 {
	if !n.set || n.infinite || !(n.v > 0) {
		return 0
	}
	if n.v >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(n.v)
}

// mib converts a MiB count to bytes, saturating rather than wrapping.
func mib(v uint64) uint64 {
	if v > math.MaxUint64>>20 {
		return math.MaxUint64
	}
	return v << 20
}

// unixTime reads a Unix-seconds timestamp; 0 and unset read as the zero Time.
func (r *reader) unixTime() (time.Time, error) {
	n, err := r.num()
	v := n.u64()
	if v == 0 || v > 1<<40 {
		return time.Time{}, err
	}
	return time.Unix(int64(v), 0).UTC(), err
}

// micros reads a duration in microseconds.
func (r *reader) micros() (time.Duration, error) {
	v, err := r.u64()
	return microsToDuration(v), err
}

func microsToDuration(v uint64) time.Duration {
	if v > math.MaxInt64/uint64(time.Microsecond) {
		return math.MaxInt64
	}
	return time.Duration(v) * time.Microsecond
}

// minutes reads a limit in minutes; unset or infinite is 0 (unlimited).
func (r *reader) minutes() (time.Duration, error) {
	v, err := r.u64()
	if v > math.MaxInt64/uint64(time.Minute) {
		return 0, err
	}
	return time.Duration(v) * time.Minute, err
}
