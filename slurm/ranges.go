package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// indexRange is one term of Slurm's numeric range lists, the one syntax
// behind GRES device indices ("IDX:0-3,5"), hostlist brackets
// ("node[01-10,12]") and job array expressions ("1-9:2,12%4"): "N", "N-M",
// and, in array expressions only, "N-M:S".
type indexRange struct {
	lo, hi, step uint64
	// width is how many digits lo was written with: a hostlist keeps its
	// zero padding ([01-10] -> 01 .. 10).
	width int
}

// count is how many numbers the range holds.
func (r indexRange) count() uint64 { return (r.hi-r.lo)/r.step + 1 }

// parseRange parses one term. steps allows the ":S" of array expressions.
// Numbers are non-negative and below 2^63; hi must not be below lo.
func parseRange(term string, steps bool) (indexRange, error) {
	r := indexRange{step: 1}
	body := term
	if steps {
		if b, st, ok := strings.Cut(term, ":"); ok {
			n, err := strconv.ParseUint(st, 10, 63)
			if err != nil || n == 0 {
				return r, fmt.Errorf("bad range %q", term)
			}
			body, r.step = b, n
		}
	}
	lo, hi, isRange := strings.Cut(body, "-")
	if !isRange {
		hi = lo
	}
	var errLo, errHi error
	r.lo, errLo = strconv.ParseUint(lo, 10, 63)
	r.hi, errHi = strconv.ParseUint(hi, 10, 63)
	if errLo != nil || errHi != nil || r.hi < r.lo {
		return r, fmt.Errorf("bad range %q", term)
	}
	r.width = len(lo)
	return r, nil
}

// eachRange calls fn for every term of a comma-separated range list.
func eachRange(list string, steps bool, fn func(indexRange) error) error {
	for _, term := range strings.Split(list, ",") {
		r, err := parseRange(term, steps)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// ParseIndexList expands "0-3,5" into [0 1 2 3 5]. Sizes are bounded.
func ParseIndexList(s string) ([]int, error) {
	var out []int
	err := eachRange(s, false, func(r indexRange) error {
		if r.hi-r.lo >= maxGRESIndices || uint64(len(out))+r.count() > maxGRESIndices {
			return fmt.Errorf("index list %q exceeds %d entries", s, maxGRESIndices)
		}
		for i := r.lo; i <= r.hi; i++ {
			out = append(out, int(i))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountArrayTasks counts the tasks of a pending job array's task
// expression (array_task_string): "2-9%2" is 8 (the "%N" after the list
// throttles how many run at once, it is not a task), "1,3,5-7" is 5,
// "0-10:2" is 6. Slurm cuts a long expression short with "..."; the
// complete terms are counted and the cut one as a single task, as is a
// term that does not parse, so a strange expression never inflates the
// total.
func CountArrayTasks(expr string) int {
	expr, _, _ = strings.Cut(expr, "%")
	expr, truncated := strings.CutSuffix(strings.TrimSpace(expr), "...")
	n := 0
	terms := strings.Split(expr, ",")
	for i, term := range terms {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		r, err := parseRange(term, true)
		if err != nil || (truncated && i == len(terms)-1) {
			n++
			continue
		}
		n += int(min(r.count(), maxArrayTasks))
	}
	return n
}

// maxArrayTasks bounds the count of one term: Slurm's MaxArraySize is at
// most 4,000,001, so a larger term is corrupt.
const maxArrayTasks = 4_000_001
