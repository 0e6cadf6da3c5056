package slurm

import (
	"sort"
	"strconv"
	"strings"
)

func sortKeys[K any](keys []K, str func(K) string) {
	sort.Slice(keys, func(i, j int) bool { return str(keys[i]) < str(keys[j]) })
}

func splitNonEmpty(s string, sep byte) []string {
	var out []string
	for _, p := range strings.Split(s, string(sep)) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func stripThrottle(expr string) string {
	if i := strings.IndexByte(expr, '%'); i >= 0 {
		return expr[:i]
	}
	return expr
}

// parseRange parses "N", "N-M" or "N-M:S".
func parseRange(s string) (lo, hi, step int, ok bool) {
	step = 1
	if i := strings.IndexByte(s, ':'); i >= 0 {
		st, err := strconv.Atoi(s[i+1:])
		if err != nil || st <= 0 {
			return 0, 0, 0, false
		}
		step, s = st, s[:i]
	}
	a, b, isRange := strings.Cut(s, "-")
	var err error
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, 0, false
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, 0, false
		}
	}
	return lo, hi, step, true
}
