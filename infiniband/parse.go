package infiniband

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotAvailable is what a counter file that reads "N/A (no PMA)" yields:
// the kernel prints that when the HCA's performance management agent did
// not answer (iWARP and some virtual functions have none). It costs that
// value only.
var ErrNotAvailable = errors.New("counter not available (N/A)")

// ParseCounter parses one counter file's content: a decimal unsigned
// integer followed by a newline. It is hand-written rather than
// strconv.ParseUint(string(b)) because it runs once per counter file per
// scrape and must not allocate.
func ParseCounter(b []byte) (uint64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, errors.New("empty counter value")
	}
	if bytes.HasPrefix(b, []byte("N/A")) {
		return 0, ErrNotAvailable
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("counter value %q is not a decimal number", truncate(b))
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, fmt.Errorf("counter value %q overflows 64 bits", truncate(b))
		}
		v = v*10 + d
	}
	return v, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// State is a port's logical or physical state. The kernel prints
// "4: ACTIVE" / "5: LinkUp"; some drivers and test trees print only the
// name ("DOWN", "Disabled"), which is mapped back to its IBTA number.
type State struct {
	ID    uint8
	HasID bool
	// Name is the canonical lower-case name ("active", "link_up") when the
	// number is known, else the printed name, lower-cased, spaces as '_'.
	Name string
}

// Port states (IBTA PortInfo:PortState) and physical states
// (PortInfo:PortPhysicalState), as include/rdma/ib_verbs.h numbers them.
var (
	portStateNames = [...]string{0: "nop", 1: "down", 2: "init", 3: "armed", 4: "active", 5: "active_defer"}
	physStateNames = [...]string{0: "no_state_change", 1: "sleep", 2: "polling", 3: "disabled",
		4: "port_configuration_training", 5: "link_up", 6: "link_error_recovery", 7: "phy_test"}
)

// ParsePortState parses ports/N/state.
func ParsePortState(s string) (State, error) { return parseState(s, portStateNames[:]) }

// ParsePhysState parses ports/N/phys_state.
func ParsePhysState(s string) (State, error) { return parseState(s, physStateNames[:]) }

func parseState(s string, names []string) (State, error) {
	s = strings.TrimSpace(s)
	// "4: ACTIVE ()" is seen on some VFs: drop an empty parenthesis.
	s = strings.TrimSpace(strings.TrimSuffix(s, "()"))
	if s == "" {
		return State{}, errors.New("empty state")
	}
	num, name, hasColon := strings.Cut(s, ":")
	if hasColon {
		id, err := strconv.ParseUint(strings.TrimSpace(num), 10, 8)
		if err != nil {
			return State{}, fmt.Errorf("state %q: bad number: %w", s, err)
		}
		st := State{ID: uint8(id), HasID: true, Name: normaliseName(name)}
		if int(id) < len(names) {
			st.Name = names[id]
		}
		if st.Name == "" {
			return State{}, fmt.Errorf("state %q has no name", s)
		}
		return st, nil
	}
	n := normaliseName(s)
	if n == "" {
		return State{}, fmt.Errorf("state %q has no name", s)
	}
	squashed := strings.ReplaceAll(n, "_", "")
	for id, known := range names {
		if squashed == strings.ReplaceAll(known, "_", "") {
			return State{ID: uint8(id), HasID: true, Name: known}, nil
		}
	}
	return State{Name: n}, nil
}

// normaliseName turns "LinkUp", "LINK_UP" or "Phy Test" into a label value:
// lower case, runs of anything but letters and digits as one '_'.
func normaliseName(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	sep := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		default:
			sep = b.Len() > 0
			continue
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Rate is a port's trained link: ports/N/rate reads
// "400 Gb/sec (4X NDR)", "10 Gb/sec (4X)", "100 Gb/sec" or "0 Gb/sec".
type Rate struct {
	// GbitPerSecond is the signalling rate the kernel reports (data rate
	// after encoding on FDR and later), in 10^9 bit/s.
	GbitPerSecond float64
	// Lanes is the link width (1, 2, 4, 8, 12); 0 when not printed.
	Lanes uint8
	// Speed is the per-lane speed name ("SDR" ... "XDR"), "" when not printed.
	Speed string
}

// ParseRate parses ports/N/rate.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	num, rest, ok := strings.Cut(s, " ")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want \"N Gb/sec (WX SPEED)\"", s)
	}
	g, err := strconv.ParseFloat(num, 64)
	if err != nil || g < 0 || g != g || g > 1e6 {
		return Rate{}, fmt.Errorf("rate %q: bad number", s)
	}
	rest = strings.TrimSpace(rest)
	unit, paren, _ := strings.Cut(rest, "(")
	if strings.TrimSpace(unit) != "Gb/sec" {
		return Rate{}, fmt.Errorf("rate %q: unknown unit", s)
	}
	r := Rate{GbitPerSecond: g}
	paren = strings.TrimSpace(paren)
	if paren == "" {
		return r, nil
	}
	inner, ok := strings.CutSuffix(paren, ")")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: unclosed parenthesis", s)
	}
	width, speed, _ := strings.Cut(strings.TrimSpace(inner), " ")
	if width != "" {
		lanes, err := ParseWidth(width)
		if err != nil {
			return Rate{}, fmt.Errorf("rate %q: %w", s, err)
		}
		r.Lanes = lanes
	}
	r.Speed = strings.TrimSpace(speed)
	if strings.ContainsAny(r.Speed, " ()") {
		return Rate{}, fmt.Errorf("rate %q: bad speed", s)
	}
	return r, nil
}

// ParseWidth parses a link width such as "4X" into its lane count.
func ParseWidth(s string) (uint8, error) {
	n, ok := strings.CutSuffix(strings.TrimSpace(s), "X")
	if !ok {
		return 0, fmt.Errorf("width %q: want NX", s)
	}
	lanes, err := strconv.ParseUint(n, 10, 8)
	if err != nil || lanes == 0 {
		return 0, fmt.Errorf("width %q: bad lane count", s)
	}
	return uint8(lanes), nil
}
