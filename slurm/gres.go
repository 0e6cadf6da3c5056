package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// maxGRESIndices bounds how many device indices one GRES entry may expand to,
// so that a hostile or corrupt "IDX:0-4294967295" cannot exhaust memory. No
// real node has anywhere near this many devices of one kind.
const maxGRESIndices = 4096

// ParseGRES parses a Slurm GRES string into its entries. It accepts every form
// Slurm prints for generic resources:
//
//	gpu:h100:4            node gres, job gres_detail
//	gpu:h100:4(IDX:0-3)   gres_used / gres_detail with device indices
//	gpu:2(IDX:0,2)        untyped, index list (commas inside the parentheses)
//	gpu:h100:2(S:0-1)     socket affinity, not indices: Indices stays nil
//	gpu:a100_3g.40gb:1    MIG types
//	gpu:(null):6(IDX:1-6) untyped, its type printed as "(null)" (gres_used)
//	gres:gpu:2, gres/gpu:2  tres_per_node / tres_per_job
//	gres/gpu:h100=2       TRES form
//	shard:8, mps:100      other GRES
//
// "", "N/A" and "(null)" mean none and yield a nil slice. An entry that cannot
// be parsed returns an error naming it; nothing here panics on bad input.
func ParseGRES(s string) ([]GRES, error) {
	s = strings.TrimSpace(s)
	if isNone(s) {
		return nil, nil
	}
	var out []GRES
	err := splitTopLevel(s, '(', ')', func(item string) error {
		item = strings.TrimSpace(item)
		if isNone(item) {
			return nil
		}
		g, err := parseGRESItem(item)
		if err != nil {
			return err
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func isNone(s string) bool {
	return s == "" || s == "N/A" || s == "(null)" || s == "none"
}

// splitTopLevel calls fn for each comma-separated item of s, ignoring commas
// between open and close (IDX lists and hostlist ranges both contain commas).
func splitTopLevel(s string, open, close byte, fn func(string) error) error {
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			if depth == 0 {
				return fmt.Errorf("unbalanced %q in %q", close, s)
			}
			depth--
		case ',':
			if depth == 0 {
				if err := fn(s[start:i]); err != nil {
					return err
				}
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("unbalanced %q in %q", open, s)
	}
	return fn(s[start:])
}

func parseGRESItem(item string) (GRES, error) {
	var g GRES
	// An untyped GRES may have its missing type printed as "(null)"
	// (a node's gres_used: "gpu:(null):6(IDX:1-6)"); its parentheses are
	// not the detail's.
	item = strings.Replace(item, ":(null):", "::", 1)
	body, detail := item, ""
	if i := strings.IndexByte(item, '('); i >= 0 {
		if !strings.HasSuffix(item, ")") {
			return g, fmt.Errorf("gres %q: text after ')'", item)
		}
		body, detail = item[:i], item[i+1:len(item)-1]
	}
	// tres_per_node says "gres:gpu:2" or "gres/gpu:2"; TRES strings say
	// "gres/gpu:h100=2". Strip the prefix, then handle "=count".
	body = strings.TrimPrefix(body, "gres/")
	body = strings.TrimPrefix(body, "gres:")
	countStr := ""
	if i := strings.IndexByte(body, '='); i >= 0 {
		body, countStr = body[:i], body[i+1:]
	}
	parts := strings.Split(body, ":")
	if parts[0] == "" {
		return g, fmt.Errorf("gres %q: empty name", item)
	}
	g.Name = parts[0]
	g.Count = 1
	switch len(parts) {
	case 1:
	case 2:
		// name:count or name:type; Slurm never names a type with a number.
		if n, err := parseGRESCount(parts[1]); err == nil {
			g.Count = n
		} else {
			g.Type = parts[1]
		}
	case 3:
		g.Type = parts[1]
		n, err := parseGRESCount(parts[2])
		if err != nil {
			return g, fmt.Errorf("gres %q: %w", item, err)
		}
		g.Count = n
	default:
		return g, fmt.Errorf("gres %q: too many ':' fields", item)
	}
	if countStr != "" {
		if len(parts) == 3 {
			return g, fmt.Errorf("gres %q: count given twice", item)
		}
		n, err := parseGRESCount(countStr)
		if err != nil {
			return g, fmt.Errorf("gres %q: %w", item, err)
		}
		g.Count = n
	}
	if detail != "" {
		idx, err := parseGRESDetail(detail)
		if err != nil {
			return g, fmt.Errorf("gres %q: %w", item, err)
		}
		g.Indices = idx
	}
	return g, nil
}

// parseGRESDetail reads the parenthesised part. Only IDX carries device
// indices; S: is socket affinity and is deliberately dropped.
func parseGRESDetail(d string) ([]int, error) {
	for _, field := range strings.Split(d, ")(") {
		rest, ok := strings.CutPrefix(field, "IDX:")
		if !ok {
			continue
		}
		if isNone(rest) {
			return nil, nil
		}
		return ParseIndexList(rest)
	}
	return nil, nil
}

// GPUCount sums the Count of the "gpu" entries of gres.
func GPUCount(gres []GRES) uint64 {
	var n uint64
	for _, g := range gres {
		if g.Name == "gpu" {
			n += g.Count
		}
	}
	return n
}

// TRES is the part of a TRES string ("cpu=2,mem=4G,node=1,billing=2,
// gres/gpu=2,gres/gpu:h100=2") that jobscope uses.
type TRES struct {
	CPUs        uint64
	MemoryBytes uint64
	Nodes       uint64
	// GPUs counts gres/gpu once: the untyped total when present, else the
	// sum of the typed entries (gres/gpu:h100=2 repeats the same devices).
	GPUs    uint64
	Billing float64
	// HasMemory is true when the string had a mem= entry.
	HasMemory bool
	// HasGPUs is true when the string had a gres/gpu entry: TRES strings
	// name GPUs only where AccountingStorageTRES tracks gres/gpu, which
	// is not Slurm's default.
	HasGPUs bool
}

// ParseTRES parses a TRES string. Unknown entries (energy, fs/disk, license/...)
// are ignored; malformed values of the entries it reads are errors.
func ParseTRES(s string) (TRES, error) {
	var t TRES
	s = strings.TrimSpace(s)
	if isNone(s) {
		return t, nil
	}
	var typedGPUs uint64
	untyped := false
	for rest := s; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ",")
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return t, fmt.Errorf("tres %q: entry %q has no '='", s, kv)
		}
		var err error
		switch {
		case k == "cpu":
			t.CPUs, err = strconv.ParseUint(v, 10, 64)
		case k == "mem":
			t.MemoryBytes, err = ParseMemory(v)
			t.HasMemory = err == nil
		case k == "node":
			t.Nodes, err = strconv.ParseUint(v, 10, 64)
		case k == "billing":
			t.Billing, err = strconv.ParseFloat(v, 64)
		case k == "gres/gpu":
			t.GPUs, err = parseGRESCount(v)
			untyped, t.HasGPUs = true, true
		case strings.HasPrefix(k, "gres/gpu:"):
			var n uint64
			n, err = parseGRESCount(v)
			typedGPUs += n
			t.HasGPUs = true
		}
		if err != nil {
			return t, fmt.Errorf("tres %q: entry %q: %w", s, kv, err)
		}
	}
	if !untyped {
		t.GPUs = typedGPUs
	}
	return t, nil
}
