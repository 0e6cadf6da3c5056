package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// reader is a streaming JSON scanner with the few typed reads the decoders
// need. Every method consumes exactly one JSON value, or returns an error.
//
// It scans the input buffer itself instead of going through jsontext's
// token state machine: a poll is mostly bytes nobody reads (the per-core
// job_resources of every running job), and skipping them with a tight
// byte loop is several times faster than reading them token by token (see
// docs/performance.md). Structure is still fully checked: brackets, names,
// colons, commas, string and literal syntax; malformed JSON is an error
// wherever it is. Escaped strings are unquoted with jsontext.AppendUnquote.
// Like the jsontext options it replaces, it accepts invalid UTF-8 and
// duplicate names.
type reader struct {
	src  io.Reader
	buf  []byte
	pos  int   // next unread byte of buf
	base int64 // input offset of buf[0]
	eof  bool
	rerr error // read error other than io.EOF
	// depth is the nesting of objects and arrays being read.
	depth int
	// key is scratch space for object names; names are compared without
	// allocating. stack is scratch for skipValue.
	key   []byte
	stack []byte
	// cores and used are per-node scratch of the jobs decoder.
	cores, used []uint32
	// interned holds the short, repetitive strings (user, account,
	// partition, state, ...) so 100k jobs share a few hundred of them.
	interned map[string]string
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

// maxDepth bounds nesting, as jsontext does; Slurm's responses nest about 8
// deep.
const maxDepth = 10000

// maxIntern bounds the intern table so that unique strings (job names)
// cannot grow it without bound.
const maxIntern = 4096

// maxRead is the largest read the reader grows to on a long input. Over
// loopback TCP a poll reading its 778 MB jobs body 64 KiB at a time cost
// 1.72 s of CPU, 4 MiB at a time 1.39 s: each small read opens the receive
// window a little, and the kernel work that follows (sending the server's
// next segments, receiving them) runs in this process's softirq; part of
// the saving is that work now done in the server's process (see
// docs/performance.md, "Poll against the decoder alone"). Decoding from
// memory is no slower. The reader grows to it only after reading 8 times
// its current size, so small responses keep 64 KiB.
const maxRead = 4 << 20

func newReader(r io.Reader) *reader {
	return &reader{src: r, buf: make([]byte, 0, 64<<10)}
}

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

// fill reads more input after the unread bytes, moving them to the front of
// buf (offsets relative to pos stay valid). It reports whether any byte was
// added.
func (r *reader) fill() bool {
	if r.eof {
		return false
	}
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:])
		r.base += int64(r.pos)
		r.buf = r.buf[:n]
		r.pos = 0
	}
	if len(r.buf) == cap(r.buf) || cap(r.buf) < maxRead && r.base >= 8*int64(cap(r.buf)) {
		nb := make([]byte, len(r.buf), 2*cap(r.buf))
		copy(nb, r.buf)
		r.buf = nb
	}
	for range 100 {
		n, err := r.src.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err != nil {
			r.eof = true
			if err != io.EOF {
				r.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	r.eof, r.rerr = true, io.ErrNoProgress
	return false
}

// errorf wraps an error with the input offset where it happened.
func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("openapi: at byte %d: %s", r.base+int64(r.pos), fmt.Sprintf(format, args...))
}

// eofErr is the error for input that ended inside a value: the read error
// when there was one.
func (r *reader) eofErr() error {
	if r.rerr != nil {
		return fmt.Errorf("openapi: %w", r.rerr)
	}
	return fmt.Errorf("openapi: %w", io.ErrUnexpectedEOF)
}

// peek skips whitespace and returns the next byte without consuming it; 0
// at the end of the input. The common case (no whitespace, byte buffered)
// is inlined.
func (r *reader) peek() byte {
	if r.pos < len(r.buf) {
		if c := r.buf[r.pos]; c > ' ' {
			return c
		}
	}
	return r.peekSlow()
}

func (r *reader) peekSlow() byte {
	for {
		for r.pos < len(r.buf) {
			switch c := r.buf[r.pos]; c {
			case ' ', '\t', '\n', '\r':
				r.pos++
			default:
				return c
			}
		}
		if !r.fill() {
			return 0
		}
	}
}

// kind is the class of the next value, as jsontext.Kind names them: 'n',
// 'f', 't', '"', '0' (any number), '{', '[', also '}' and ']'; 0 at the end
// of input and '!' for a byte no value starts with.
type kind byte

func (k kind) String() string {
	switch k {
	case 0:
		return "end of input"
	case '!':
		return "invalid character"
	case '0':
		return "number"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	}
	return string(rune(k))
}

func kindOf(c byte) kind {
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return '0'
	case c == 'n', c == 't', c == 'f', c == '"', c == '{', c == '[', c == '}', c == ']', c == 0:
		return kind(c)
	}
	return '!'
}

// peekKind is the kind of the next value.
func (r *reader) peekKind() kind { return kindOf(r.peek()) }

func (r *reader) unexpected(want string) error {
	c := r.peek()
	if c == 0 {
		return r.eofErr()
	}
	return r.errorf("want %s, got %v", want, kindOf(c))
}

// ensure makes n bytes from pos available, if the input has them.
func (r *reader) ensure(n int) bool {
	for len(r.buf)-r.pos < n {
		if !r.fill() {
			return false
		}
	}
	return true
}

// literal consumes lit (true, false, null), which the caller has peeked the
// first byte of.
func (r *reader) literal(lit string) error {
	if !r.ensure(len(lit)) {
		return r.eofErr()
	}
	if string(r.buf[r.pos:r.pos+len(lit)]) != lit {
		return r.errorf("invalid literal")
	}
	r.pos += len(lit)
	return nil
}

// stringLen returns the length, quotes included, of the string at pos
// (buf[pos] == '"'), making all of it available in buf, and whether it has
// escapes.
func (r *reader) stringLen() (n int, escaped bool, err error) {
	// Fast path: the whole string is buffered. Most strings are short
	// names, for which a byte loop beats bytes.IndexByte's call overhead.
	b := r.buf[r.pos:]
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, false, nil
		case '\\':
			return r.stringLenSlow()
		}
	}
	return r.stringLenSlow()
}

func (r *reader) stringLenSlow() (n int, escaped bool, err error) {
	i := 1
	for {
		for r.pos+i > len(r.buf) {
			if !r.fill() {
				return 0, escaped, r.eofErr()
			}
		}
		b := r.buf[r.pos+i:]
		q := bytes.IndexByte(b, '"')
		seg := b
		if q >= 0 {
			seg = b[:q]
		}
		if e := bytes.IndexByte(seg, '\\'); e >= 0 {
			escaped = true
			i += e + 2 // the backslash and the byte it escapes
			continue
		}
		if q >= 0 {
			return i + q + 1, escaped, nil
		}
		i += len(b)
		if !r.fill() {
			return 0, escaped, r.eofErr()
		}
	}
}

// rawString reads a string value and returns its unquoted bytes, valid until
// the next read.
func (r *reader) rawString() ([]byte, error) {
	n, esc, err := r.stringLen()
	if err != nil {
		return nil, err
	}
	raw := r.buf[r.pos : r.pos+n]
	r.pos += n
	if !esc {
		return raw[1 : n-1], nil
	}
	r.key, err = jsontext.AppendUnquote(r.key[:0], raw)
	if err != nil {
		return nil, r.errorf("%v", err)
	}
	return r.key, nil
}

// numberLen returns the length of the number at pos. It takes every byte a
// number can contain, then checks them against RFC 8259's grammar, so that
// "00", "01", "-", "1.", ".5", "1e" and "+1" are errors here as they are for
// jsontext (which would read "00" as two values: only the grammar, not the
// byte set, tells them apart).
func (r *reader) numberLen() (int, error) {
	i := 0
	for {
		for r.pos+i < len(r.buf) {
			switch c := r.buf[r.pos+i]; {
			case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
				i++
				continue
			}
			goto done
		}
		if !r.fill() {
			break
		}
	}
done:
	if b := r.buf[r.pos : r.pos+i]; !validNumber(b) {
		if len(b) > 32 {
			b = b[:32] // the start says enough
		}
		return 0, r.errorf("invalid number %q", b)
	}
	return i, nil
}

// validNumber reports whether b is exactly one JSON number:
//
//	number = [ "-" ] int [ frac ] [ exp ]
//	int    = "0" / ( digit1-9 *DIGIT )
//	frac   = "." 1*DIGIT
//	exp    = ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT
func validNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

func (r *reader) skip() error {
	switch c := r.peek(); c {
	case '{', '[':
		return r.skipComposite()
	case '"':
		n, _, err := r.stringLen()
		r.pos += n
		return err
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	default:
		if kindOf(c) == '0' {
			n, err := r.numberLen()
			r.pos += n
			return err
		}
		return r.unexpected("value")
	}
}

// skipComposite skips the object or array at pos in one loop over the
// bytes, checking its syntax as it goes.
func (r *reader) skipComposite() error {
	const (
		value      = iota // a value is required
		valueOrEnd        // after '[': a value or ']'
		nameOrEnd         // after '{': a name or '}'
		name              // after ',' in an object
		after             // after a value: ',' or the closing bracket
	)
	stack := r.stack[:0]
	state := value
	for {
		c := r.peek()
		switch state {
		case after:
			if len(stack) == 0 {
				r.stack = stack
				return nil
			}
			top := stack[len(stack)-1]
			switch {
			case c == ',':
				r.pos++
				if top == '{' {
					state = name
				} else {
					state = value
				}
			case c == '}' && top == '{', c == ']' && top == '[':
				r.pos++
				stack = stack[:len(stack)-1]
			case c == 0:
				return r.eofErr()
			default:
				return r.errorf("invalid character %q after value", c)
			}
			continue
		case nameOrEnd, name:
			if c == '}' && state == nameOrEnd {
				r.pos++
				stack = stack[:len(stack)-1]
				state = after
				continue
			}
			if c != '"' {
				return r.unexpected("object name")
			}
			n, _, err := r.stringLen()
			if err != nil {
				return err
			}
			r.pos += n
			if r.peek() != ':' {
				return r.unexpected("':'")
			}
			r.pos++
			state = value
			continue
		case valueOrEnd:
			if c == ']' {
				r.pos++
				stack = stack[:len(stack)-1]
				state = after
				continue
			}
		}
		// A value.
		switch c {
		case '"':
			n, _, err := r.stringLen()
			if err != nil {
				return err
			}
			r.pos += n
		case '{', '[':
			if r.depth+len(stack) >= maxDepth {
				return r.errorf("exceeded max depth")
			}
			r.pos++
			stack = append(stack, c)
			if c == '{' {
				state = nameOrEnd
			} else {
				state = valueOrEnd
			}
			continue
		case 't':
			if err := r.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := r.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := r.literal("null"); err != nil {
				return err
			}
		default:
			if kindOf(c) != '0' {
				return r.unexpected("value")
			}
			n, err := r.numberLen()
			if err != nil {
				return err
			}
			r.pos += n
		}
		state = after
	}
}

// object reads an object, calling fn with each name; fn must consume the
// value. null is accepted as an empty object, since Slurm prints null for
// unset nested structs in older versions. name is only valid until fn reads.
func (r *reader) object(fn func(name []byte) error) error {
	switch r.peek() {
	case 'n':
		return r.literal("null")
	case '{':
	default:
		return r.unexpected("object")
	}
	if r.depth >= maxDepth {
		return r.errorf("exceeded max depth")
	}
	r.pos++
	r.depth++
	c := r.peek()
	if c == '}' {
		r.pos++
		r.depth--
		return nil
	}
	for {
		if c != '"' {
			return r.unexpected("object name")
		}
		raw, err := r.rawString()
		if err != nil {
			return err
		}
		// Copy (a no-op when unquoting put it there already): reading
		// on may move the buffer.
		r.key = append(r.key[:0], raw...)
		if r.peek() != ':' {
			return r.unexpected("':'")
		}
		r.pos++
		if err := fn(r.key); err != nil {
			return err
		}
		switch c = r.peek(); c {
		case ',':
			r.pos++
			c = r.peek()
		case '}':
			r.pos++
			r.depth--
			return nil
		default:
			return r.unexpected("',' or '}'")
		}
	}
}

// array reads an array, calling fn once per element; fn must consume it.
// null is accepted as an empty array.
func (r *reader) array(fn func() error) error {
	switch r.peek() {
	case 'n':
		return r.literal("null")
	case '[':
	default:
		return r.unexpected("array")
	}
	if r.depth >= maxDepth {
		return r.errorf("exceeded max depth")
	}
	r.pos++
	r.depth++
	if r.peek() == ']' {
		r.pos++
		r.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return nil
		default:
			return r.unexpected("',' or ']'")
		}
	}
}

// str reads a string; null reads as "".
func (r *reader) str() (string, error) {
	switch r.peek() {
	case '"':
		b, err := r.rawString()
		return string(b), err
	case 'n':
		return "", r.literal("null")
	}
	return "", r.unexpected("string")
}

// istr reads a string like str, interning it: for fields with few distinct
// values (user, account, partition, qos, state, reason).
func (r *reader) istr() (string, error) {
	if r.peek() != '"' {
		return r.str()
	}
	b, err := r.rawString()
	if err != nil || len(b) == 0 {
		return "", err
	}
	if s, ok := r.interned[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if r.interned == nil {
		r.interned = make(map[string]string)
	}
	if len(r.interned) < maxIntern {
		r.interned[s] = s
	}
	return s, nil
}

// strs reads a list of strings, or a single string (v0.0.38 prints
// features as "a,b" where later versions print ["a","b"]; a single string is
// returned as one element unless split is set, when it is split on commas).
// Elements are interned.
func (r *reader) strs(split bool) ([]string, error) {
	if r.peek() != '[' {
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
		s, err := r.istr()
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
	switch c := r.peek(); c {
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
		return number{}, r.literal("null")
	case 't', 'f':
		b, err := r.boolean()
		if b {
			return number{v: 1, set: true}, err
		}
		return number{set: true}, err
	default:
		if kindOf(c) != '0' {
			return number{}, r.unexpected("number")
		}
		n, err := r.numberLen()
		if err != nil {
			return number{}, err
		}
		b := r.buf[r.pos : r.pos+n]
		r.pos += n
		// Most numbers are small non-negative integers: no ParseFloat.
		if len(b) <= 15 {
			v := uint64(0)
			ok := true
			for _, c := range b {
				if c < '0' || c > '9' {
					ok = false
					break
				}
				v = v*10 + uint64(c-'0')
			}
			if ok {
				return number{v: float64(v), set: true}, nil
			}
		}
		f, perr := strconv.ParseFloat(string(b), 64)
		if perr != nil && !errors.Is(perr, strconv.ErrRange) {
			return number{}, r.errorf("bad number %q", b)
		}
		return number{v: f, set: true}, nil
	}
}

func (r *reader) boolean() (bool, error) {
	switch r.peek() {
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	case 'n':
		return false, r.literal("null")
	}
	return false, r.unexpected("bool")
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
