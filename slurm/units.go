package slurm

import (
	"fmt"
	"math"
	"strconv"
)

// sizeSuffixes is Slurm's one table of size suffixes, for memory sizes
// ("4G", "62.50G") and counts (GRES "shard:1K", TRES "gres/gpu=2"): powers
// of 1024, either case, as Slurm's suffix_mult reads them.
var sizeSuffixes = map[byte]uint64{
	'K': 1 << 10, 'k': 1 << 10,
	'M': 1 << 20, 'm': 1 << 20,
	'G': 1 << 30, 'g': 1 << 30,
	'T': 1 << 40, 't': 1 << 40,
	'P': 1 << 50, 'p': 1 << 50,
}

// cutSizeSuffix splits s into its number and the multiplier of its suffix;
// bare is the multiplier when there is none. A last character that is
// neither a digit nor a known suffix is an error.
func cutSizeSuffix(s string, bare uint64) (string, uint64, error) {
	if s == "" {
		return "", 0, fmt.Errorf("empty size")
	}
	c := s[len(s)-1]
	if m, ok := sizeSuffixes[c]; ok {
		return s[:len(s)-1], m, nil
	}
	if c < '0' || c > '9' {
		return "", 0, fmt.Errorf("unknown size suffix in %q", s)
	}
	return s, bare, nil
}

// parseGRESCount reads a GRES or TRES count, which Slurm may print with a
// size suffix (shard:1K).
func parseGRESCount(s string) (uint64, error) {
	num, mult, err := cutSizeSuffix(s, 1)
	if err != nil {
		return 0, fmt.Errorf("bad count %q", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad count %q", s)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("count %q overflows", s)
	}
	return n * mult, nil
}

// ParseMemory converts a Slurm memory size ("4G", "62.50G", "1000M", "16000")
// to bytes. A bare number is MiB, as everywhere in Slurm.
func ParseMemory(s string) (uint64, error) {
	num, mult, err := cutSizeSuffix(s, 1<<20)
	if err != nil {
		if s == "" {
			return 0, fmt.Errorf("empty memory size")
		}
		return 0, fmt.Errorf("bad memory size %q", s)
	}
	if n, err := strconv.ParseUint(num, 10, 64); err == nil {
		// Integers stay exact; floats would round above 2^53.
		if n > math.MaxUint64/mult {
			return 0, fmt.Errorf("memory size %q overflows", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("bad memory size %q", s)
	}
	b := f * float64(mult)
	if b >= math.MaxUint64 {
		return 0, fmt.Errorf("memory size %q overflows", s)
	}
	return uint64(math.Round(b)), nil
}
