package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"jobscope/slurm"
)

// ParseSshareParsable parses `sshare -a -l -P` output: a header line naming
// the columns, then one '|'-separated row per association. The tree shape is
// only in the Account column's leading spaces (one per level), so parents
// are rebuilt from the indentation. Columns are found by header name, so
// column order or extra columns (newer releases) do not matter.
//
// Missing numbers (FairShare on account rows, LevelFS on the root) are NaN;
// "inf" is +Inf; RawShares "parent" (shares inherited) is 0.
func ParseSshareParsable(r io.Reader) ([]slurm.Share, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var col map[string]int
	var out []slurm.Share
	// stack[d] is the account at indentation depth d.
	var stack []string
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, "|")
		if col == nil {
			col = map[string]int{}
			for i, h := range fields {
				col[strings.TrimSpace(h)] = i
			}
			if _, ok := col["Account"]; !ok {
				return nil, fmt.Errorf("sshare: header line has no Account column: %q", truncate(line, 120))
			}
			continue
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(fields) {
				return ""
			}
			return fields[i]
		}
		acctRaw := get("Account")
		depth := len(acctRaw) - len(strings.TrimLeft(acctRaw, " "))
		s := slurm.Share{
			Account: strings.TrimSpace(acctRaw),
			User:    strings.TrimSpace(get("User")),
		}
		if s.Account == "" {
			return nil, fmt.Errorf("sshare line %d: empty account", lineNo)
		}
		if depth > len(stack) {
			// A row deeper than one level below its predecessor: sshare
			// never prints that; the tree cannot be trusted.
			return nil, fmt.Errorf("sshare line %d: indentation jumps to depth %d after depth %d", lineNo, depth, len(stack)-1)
		}
		if depth > 0 {
			s.Parent = stack[depth-1]
		}
		if s.User == "" {
			stack = append(stack[:depth], s.Account)
		} else {
			stack = stack[:depth]
		}

		var err error
		if s.RawShares, err = parseRawShares(get("RawShares")); err != nil {
			return nil, fmt.Errorf("sshare line %d: RawShares: %w", lineNo, err)
		}
		for _, f := range []struct {
			name string
			dst  *float64
		}{
			{"NormShares", &s.NormShares},
			{"RawUsage", &s.RawUsage},
			{"EffectvUsage", &s.EffectiveUsage},
			{"FairShare", &s.FairShare},
			{"LevelFS", &s.LevelFS},
		} {
			if *f.dst, err = parseShareFloat(get(f.name)); err != nil {
				return nil, fmt.Errorf("sshare line %d: %s: %w", lineNo, f.name, err)
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading sshare output: %w", err)
	}
	if col == nil {
		return nil, errors.New("sshare: empty output (no header line)")
	}
	return out, nil
}

func parseRawShares(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "parent" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return n, nil
}

func parseShareFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return math.NaN(), nil
	case "inf", "+inf", "infinity":
		return math.Inf(1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
