package slurm

import (
	"slices"
	"strings"
)

// baseNodeStates are the mutually exclusive node states; everything else Slurm
// prints next to them (DRAIN, NOT_RESPONDING, ...) is a flag.
var baseNodeStates = map[string]bool{
	"IDLE": true, "ALLOCATED": true, "MIXED": true, "DOWN": true,
	"ERROR": true, "FUTURE": true, "UNKNOWN": true,
}

// nodeStateAliases maps the short and older spellings sinfo and the older
// data parsers use onto the names of the model.
var nodeStateAliases = map[string]string{
	"ALLOC": "ALLOCATED", "MIX": "MIXED", "IDL": "IDLE", "UNK": "UNKNOWN",
	"FUTR": "FUTURE", "ERR": "ERROR",
	"DRAINED": "DRAIN", "DRAINING": "DRAIN", "DRNG": "DRAIN", "DRAIN": "DRAIN",
	"DRAINING_OR_DRAINED": "DRAIN",
	"NO_RESPOND":          "NOT_RESPONDING", "NOT_RESPONDING": "NOT_RESPONDING",
	"COMP": "COMPLETING", "MAINT": "MAINTENANCE", "RESV": "RESERVED",
	"POWER_DOWN": "POWER_DOWN", "POWERED_DOWN": "POWERED_DOWN",
}

// nodeStateSuffixes are the one-character markers sinfo appends to a state
// ("idle*" is an idle node that does not respond).
var nodeStateSuffixes = map[byte]string{
	'*': "NOT_RESPONDING",
	'~': "POWERED_DOWN",
	'#': "POWERING_UP",
	'%': "POWERING_DOWN",
	'!': "POWER_DOWN",
	'$': "MAINTENANCE",
	'@': "REBOOT_REQUESTED",
	'^': "REBOOT_ISSUED",
	'-': "PLANNED",
}

// ParseNodeState splits a node state as any Slurm version reports it into the
// base state and the flags, both upper case. Each part may be a single word
// ("MIXED", lower-case "mixed" in v0.0.37/38 with state_flags passed as further
// parts), a '+'-joined state ("MIXED+DRAIN"), an sinfo word with suffix
// ("idle*"), or one element of the v0.0.40+ list (["IDLE","DRAIN"]).
// State is "UNKNOWN" when no base state is present. Flags are de-duplicated
// and keep their first order; nil when none.
func ParseNodeState(parts ...string) (state string, flags []string) {
	return splitState(parts, baseNodeStates, func(w string, flag func(string)) string {
		w = strings.TrimSpace(w)
		for len(w) > 0 {
			f, ok := nodeStateSuffixes[w[len(w)-1]]
			if !ok {
				break
			}
			flag(f)
			w = w[:len(w)-1]
		}
		w = strings.ToUpper(w)
		if a, ok := nodeStateAliases[w]; ok {
			w = a
		}
		return w
	})
}

var baseJobStates = map[string]bool{
	"PENDING": true, "RUNNING": true, "SUSPENDED": true, "COMPLETED": true,
	"CANCELLED": true, "FAILED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true, "OUT_OF_MEMORY": true,
}

// ParseJobState splits a job state into the base state and flags, upper case.
// It takes the v0.0.39-and-older string ("RUNNING", also "COMPLETING" alone
// when Slurm printed only the flag) or the v0.0.40+ list ["RUNNING",
// "COMPLETING"]. With no base state present the state is "UNKNOWN".
func ParseJobState(parts ...string) (state string, flags []string) {
	return splitState(parts, baseJobStates, func(w string, _ func(string)) string {
		w = strings.ToUpper(strings.TrimSpace(w))
		if w == "CANCELED" {
			w = "CANCELLED"
		}
		return w
	})
}

// splitState splits each part at '+' and normalises every word with word,
// which may add flags of its own through flag. The first word in base is the
// state ("UNKNOWN" when none is), every other non-empty word a flag. Flags
// are de-duplicated and keep their first order; nil when none.
func splitState(parts []string, base map[string]bool, word func(w string, flag func(string)) string) (state string, flags []string) {
	flag := func(f string) { flags = appendFlag(flags, f) }
	for _, p := range parts {
		for _, w := range strings.Split(p, "+") {
			w = word(w, flag)
			if w == "" {
				continue
			}
			if base[w] && state == "" {
				state = w
				continue
			}
			flag(w)
		}
	}
	if state == "" {
		state = "UNKNOWN"
	}
	return state, flags
}

func appendFlag(flags []string, f string) []string {
	if slices.Contains(flags, f) {
		return flags
	}
	return append(flags, f)
}
