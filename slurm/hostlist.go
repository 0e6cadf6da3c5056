package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxHostlistHosts caps how many names ExpandHostlist produces. The largest
// Slurm clusters have tens of thousands of nodes; anything beyond this is a
// corrupt or hostile expression and expanding it would exhaust memory.
const MaxHostlistHosts = 1 << 18

// ExpandHostlist expands a Slurm hostlist expression into host names:
//
//	node[1-3,5]     node1 node2 node3 node5
//	gpu-[01-04]-ib  gpu-01-ib ... gpu-04-ib (zero padding kept)
//	a[1-2]b[3-4]    a1b3 a1b4 a2b3 a2b4
//	n1,n2           n1 n2
//
// It is hand-written: there is no maintained Go library for Slurm hostlists.
// The result is capped at MaxHostlistHosts names; beyond that, or on
// unbalanced brackets or bad ranges, it returns an error.
func ExpandHostlist(expr string) ([]string, error) {
	expr = strings.TrimSpace(expr)
	if isNone(expr) {
		return nil, nil
	}
	var out []string
	err := splitTopLevel(expr, '[', ']', func(item string) error {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil
		}
		var err error
		out, err = expandHostItem(out, "", item)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hostlist %q: %w", truncate(expr, 80), err)
	}
	return out, nil
}

// expandHostItem appends prefix+expansions of item to out, recursing once per
// bracket group, left to right, so a[1-2]b[3-4] varies the last group fastest.
func expandHostItem(out []string, prefix, item string) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if strings.IndexByte(item, ']') >= 0 {
			return out, fmt.Errorf("unbalanced ']'")
		}
		if len(out) >= MaxHostlistHosts {
			return out, fmt.Errorf("expands to more than %d hosts", MaxHostlistHosts)
		}
		return append(out, prefix+item), nil
	}
	end := strings.IndexByte(item[open:], ']')
	if end < 0 {
		return out, fmt.Errorf("unbalanced '['")
	}
	end += open
	head, ranges, tail := item[:open], item[open+1:end], item[end+1:]
	if strings.IndexByte(head, ']') >= 0 || strings.IndexByte(ranges, '[') >= 0 {
		return out, fmt.Errorf("nested or unbalanced brackets")
	}
	err := eachRange(ranges, false, func(r indexRange) error {
		if r.hi-r.lo >= MaxHostlistHosts {
			return fmt.Errorf("range %d-%d expands to more than %d hosts", r.lo, r.hi, MaxHostlistHosts)
		}
		for i := r.lo; i <= r.hi; i++ {
			// Slurm pads to the width of the lower bound: [01-10] -> 01..10.
			s := strconv.FormatUint(i, 10)
			if len(s) < r.width {
				s = strings.Repeat("0", r.width-len(s)) + s
			}
			var err error
			if out, err = expandHostItem(out, prefix+head+s, tail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
