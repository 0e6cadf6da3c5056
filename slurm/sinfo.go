package slurm

import (
	"slices"
	"strings"
)

// SinfoState returns the node state as `sinfo -o %T` prints it, split into
// the lower-case word ("drained", "draining", "idle", "maint", ...) and the
// one-character suffix sinfo appends ("*", "$", "~", ..., "" when none).
//
// slurmctld keeps a base state and a set of flags; sinfo folds them into one
// word with node_state_string() (src/common/slurm_protocol_defs.c), and that
// word is what an on-call reads and asks about ("how many nodes are
// drained?"). The precedence below follows that function: INVALID_REG, then
// MAINTENANCE (unless drained or busy), a pending or issued reboot (unless
// busy), DRAIN (draining while jobs still run or complete, drained
// otherwise), FAIL, a lone power or cloud flag on an unknown node, and only
// then the base state. A base state the function does not name (ERROR) is
// returned as its own lower-case word rather than sinfo's "?".
func SinfoState(n Node) (state, suffix string) {
	has := func(flag string) bool { return slices.Contains(n.Flags, flag) }
	base := n.State
	busy := base == "ALLOCATED" || base == "MIXED"
	noResp := has("NOT_RESPONDING")
	star := func() string {
		if noResp {
			return "*"
		}
		return ""
	}

	if has("INVALID_REG") {
		return "inval", ""
	}
	if has("MAINTENANCE") && !has("DRAIN") && !busy && base != "DOWN" {
		return "maint", star()
	}
	if (has("REBOOT_REQUESTED") || has("REBOOT_ISSUED")) && !busy {
		if has("REBOOT_ISSUED") {
			return "reboot", "^"
		}
		return "reboot", star()
	}
	if has("DRAIN") {
		if has("COMPLETING") || busy {
			return "draining", sinfoSuffix(has)
		}
		return "drained", sinfoSuffix(has)
	}
	if has("FAIL") {
		if has("COMPLETING") || base == "ALLOCATED" {
			return "failing", star()
		}
		return "fail", star()
	}
	// Slurm compares the whole state word here: an UNKNOWN base with this
	// one flag and nothing else (a cloud node that never registered, say).
	if base == "UNKNOWN" && len(n.Flags) == 1 {
		switch f := n.Flags[0]; f {
		case "REBOOT_CANCEL", "REBOOT_CANCELED":
			return "cancel_reboot", ""
		case "CLOUD", "POWER_DOWN", "POWER_UP", "POWERING_DOWN", "POWERED_DOWN", "POWERING_UP":
			return strings.ToLower(f), ""
		}
	}
	switch base {
	case "DOWN":
		return "down", sinfoSuffix(has)
	case "ALLOCATED":
		if s := sinfoSuffix(has); s != "" {
			return "allocated", s
		}
		if has("COMPLETING") {
			return "allocated", "+"
		}
		return "allocated", ""
	}
	if has("COMPLETING") {
		return "completing", sinfoSuffix(has)
	}
	switch base {
	case "IDLE":
		// a suffix wins over the words that replace "idle"
		if s := sinfoSuffix(has); s != "" {
			return "idle", s
		}
		switch {
		case has("PERFCTRS"):
			return "perfctrs", ""
		case has("RESERVED"):
			return "reserved", ""
		case has("PLANNED"):
			return "planned", ""
		}
		return "idle", ""
	case "MIXED":
		if s := sinfoSuffix(has); s != "" {
			return "mixed", s
		}
		if has("PLANNED") {
			return "mixed", "-"
		}
		return "mixed", ""
	case "FUTURE":
		return "future", sinfoSuffix(has)
	}
	if has("RESUME") {
		return "resume", ""
	}
	if base == "UNKNOWN" {
		return "unknown", star()
	}
	return strings.ToLower(base), ""
}

// sinfoSuffixes are the markers sinfo appends to most state words, in the
// order node_state_string() tests them: only the first that applies shows.
var sinfoSuffixes = []struct{ flag, suffix string }{
	{"MAINTENANCE", "$"},
	{"REBOOT_ISSUED", "^"},
	{"REBOOT_REQUESTED", "@"},
	{"POWERING_UP", "#"},
	{"POWERING_DOWN", "%"},
	{"POWERED_DOWN", "~"},
	{"POWER_DOWN", "!"},
	{"NOT_RESPONDING", "*"},
}

func sinfoSuffix(has func(string) bool) string {
	for _, s := range sinfoSuffixes {
		if has(s.flag) {
			return s.suffix
		}
	}
	return ""
}
