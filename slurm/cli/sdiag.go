package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"jobscope/slurm"
)

// sdiag text sections; several keys ("Last cycle", "Total cycles", ...) exist
// in both scheduler sections and only the section tells them apart.
type sdiagSection int

const (
	secTop sdiagSection = iota
	secMain
	secBackfill
	secRPCType
	secRPCUser
	secOther
)

// ParseSdiagText parses the plain-text output of `sdiag` (Slurm releases
// before `sdiag --json`, e.g. 22.05). Times are reported in microseconds.
// Lines it does not know are ignored so that newer releases' additions do not
// break it; a known key with a malformed number is an error.
func ParseSdiagText(r io.Reader) (*slurm.Diag, error) {
	d := &slurm.Diag{}
	sec := secTop
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	recognised := false
	lineNo := 0
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "****") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "sdiag output at"):
			recognised = true
			continue
		case strings.HasPrefix(line, "Data since"):
			t, err := parenUnix(line)
			if err != nil {
				return nil, fmt.Errorf("sdiag line %d: %w", lineNo, err)
			}
			d.Since = t
			continue
		case strings.HasPrefix(line, "Main schedule statistics"):
			sec = secMain
			continue
		case strings.HasPrefix(line, "Backfilling stats"):
			sec = secBackfill
			// sdiag adds this warning while a backfill cycle is running.
			d.BackfillActive = strings.Contains(line, "middle of backfilling")
			continue
		case strings.HasPrefix(line, "Remote Procedure Call statistics by message type"):
			sec = secRPCType
			continue
		case strings.HasPrefix(line, "Remote Procedure Call statistics by user"):
			sec = secRPCUser
			continue
		case strings.HasPrefix(line, "Pending RPC statistics"), strings.HasPrefix(line, "Latency for"):
			sec = secOther
			continue
		}
		if sec == secRPCType || sec == secRPCUser {
			st, ok, err := parseRPCLine(line)
			if err != nil {
				return nil, fmt.Errorf("sdiag line %d: %w", lineNo, err)
			}
			if !ok {
				continue
			}
			if sec == secRPCType {
				d.RPCsByType = append(d.RPCsByType, st)
			} else {
				d.RPCsByUser = append(d.RPCsByUser, st)
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if err := setSdiag(d, sec, key, val, &recognised); err != nil {
			return nil, fmt.Errorf("sdiag line %d (%q): %w", lineNo, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading sdiag output: %w", err)
	}
	if !recognised {
		return nil, errors.New("sdiag output not recognised: no header and no known statistics")
	}
	d.ScheduleCycleSum = d.ScheduleCycleMean * time.Duration(d.ScheduleCycleCount)
	d.BackfillCycleSum = d.BackfillCycleMean * time.Duration(d.BackfillCycleCount)
	return d, nil
}

func setSdiag(d *slurm.Diag, sec sdiagSection, key, val string, recognised *bool) error {
	u := func(dst *uint64) error {
		n, err := strconv.ParseUint(firstField(val), 10, 64)
		if err != nil {
			return fmt.Errorf("bad count %q", val)
		}
		*dst = n
		*recognised = true
		return nil
	}
	us := func(dst *time.Duration) error {
		var n uint64
		if err := u(&n); err != nil {
			return err
		}
		*dst = time.Duration(n) * time.Microsecond
		return nil
	}
	switch sec {
	case secTop:
		switch key {
		case "Server thread count":
			return u(&d.ServerThreadCount)
		case "Agent queue size":
			return u(&d.AgentQueueSize)
		case "Agent count":
			return u(&d.AgentCount)
		case "Agent thread count":
			return u(&d.AgentThreadCount)
		case "DBD Agent queue size":
			return u(&d.DBDAgentQueueSize)
		case "Jobs submitted":
			return u(&d.JobsSubmitted)
		case "Jobs started":
			return u(&d.JobsStarted)
		case "Jobs completed":
			return u(&d.JobsCompleted)
		case "Jobs canceled":
			return u(&d.JobsCanceled)
		case "Jobs failed":
			return u(&d.JobsFailed)
		case "Jobs pending":
			return u(&d.JobsPending)
		case "Jobs running":
			return u(&d.JobsRunning)
		}
	case secMain:
		switch key {
		case "Last cycle":
			return us(&d.ScheduleCycleLast)
		case "Max cycle":
			return us(&d.ScheduleCycleMax)
		case "Total cycles":
			return u(&d.ScheduleCycleCount)
		case "Mean cycle":
			return us(&d.ScheduleCycleMean)
		case "Mean depth cycle":
			return u(&d.ScheduleMeanDepth)
		case "Last queue length":
			return u(&d.ScheduleQueueLength)
		}
	case secBackfill:
		switch key {
		case "Total backfilled jobs (since last slurm start)":
			return u(&d.BackfilledJobs)
		case "Total backfilled heterogeneous job components":
			return u(&d.BackfilledHetJobs)
		case "Total cycles":
			return u(&d.BackfillCycleCount)
		case "Last cycle when":
			t, err := parenUnix(val)
			if err != nil {
				return err
			}
			d.BackfillLastCycleTime = t
			return nil
		case "Last cycle":
			return us(&d.BackfillCycleLast)
		case "Max cycle":
			return us(&d.BackfillCycleMax)
		case "Mean cycle":
			return us(&d.BackfillCycleMean)
		case "Last depth cycle":
			return u(&d.BackfillLastDepth)
		case "Last depth cycle (try sched)":
			return u(&d.BackfillLastDepthTry)
		case "Last queue length":
			return u(&d.BackfillQueueLength)
		}
	}
	return nil
}

// parseRPCLine parses "NAME   ( 2049) count:18  ave_time:190  total_time:3423".
// ok is false for lines that are not RPC rows ("No pending RPCs").
func parseRPCLine(line string) (slurm.RPCStat, bool, error) {
	open := strings.IndexByte(line, '(')
	closeIdx := strings.IndexByte(line, ')')
	if open <= 0 || closeIdx < open || !strings.Contains(line, "count:") {
		return slurm.RPCStat{}, false, nil
	}
	st := slurm.RPCStat{Name: strings.TrimSpace(line[:open])}
	for _, f := range strings.Fields(line[closeIdx+1:]) {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		switch k {
		case "count":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return st, false, fmt.Errorf("bad RPC count %q", v)
			}
			st.Count = n
		case "total_time":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return st, false, fmt.Errorf("bad RPC total_time %q", v)
			}
			st.Total = time.Duration(n) * time.Microsecond
		}
	}
	return st, true, nil
}

// parenUnix extracts the Unix time in "Sun Nov 29 17:27:34 2026 (1795973254)".
// A fresh slurmctld prints "N/A" before the first backfill cycle.
func parenUnix(s string) (time.Time, error) {
	if strings.TrimSpace(s) == "N/A" {
		return time.Time{}, nil
	}
	open, closeIdx := strings.LastIndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closeIdx < open {
		return time.Time{}, fmt.Errorf("no unix time in %q", s)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s[open+1:closeIdx]), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad unix time in %q", s)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(n, 0).UTC(), nil
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
