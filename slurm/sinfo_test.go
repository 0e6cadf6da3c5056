package slurm

import "testing"

// TestSinfoState: state as scontrol prints it (base+flags) -> what `sinfo -o %T`
// prints, word and suffix together. The expectations follow Slurm's
// node_state_string(); the drained, draining, mixed, allocated and idle rows
// are also what the local cluster's sinfo printed for those states.
func TestSinfoState(t *testing.T) {
	tests := []struct {
		scontrol string
		want     string
	}{
		// plain base states
		{"IDLE", "idle"},
		{"MIXED", "mixed"},
		{"ALLOCATED", "allocated"},
		{"DOWN", "down"},
		{"FUTURE", "future"},
		{"UNKNOWN", "unknown"},
		{"ERROR", "error"}, // sinfo's "?": not a useful label
		{"IDLE*", "idle*"},
		{"DOWN+NOT_RESPONDING", "down*"},
		{"UNKNOWN+NOT_RESPONDING", "unknown*"},

		// drain: draining while jobs run or complete, drained otherwise
		{"IDLE+DRAIN", "drained"},
		{"DOWN+DRAIN", "drained"},
		{"MIXED+DRAIN", "draining"},
		{"ALLOCATED+DRAIN", "draining"},
		{"IDLE+COMPLETING+DRAIN", "draining"},
		{"IDLE+DRAIN+NOT_RESPONDING", "drained*"},
		{"MIXED+DRAIN+NOT_RESPONDING", "draining*"},
		{"IDLE+DRAIN+POWERED_DOWN", "drained~"},
		{"IDLE+DRAIN+POWERING_DOWN", "drained%"},
		{"IDLE+DRAIN+POWER_DOWN", "drained!"},
		{"IDLE+DRAIN+POWERING_UP", "drained#"},
		{"IDLE+DRAIN+REBOOT_REQUESTED+NOT_RESPONDING", "reboot*"}, // reboot outranks drain on an idle node
		{"MIXED+DRAIN+REBOOT_REQUESTED", "draining@"},
		{"ALLOCATED+DRAIN+REBOOT_ISSUED", "draining^"},
		{"IDLE+DRAIN+MAINTENANCE", "drained$"}, // maint gives way to drain
		{"IDLE+DRAIN+RESERVED", "drained"},
		{"idle~+drain", "drained~"}, // sinfo's own spelling, suffix parsed as a flag

		// fail
		{"IDLE+FAIL", "fail"},
		{"MIXED+FAIL", "fail"}, // Slurm only says failing for allocated or completing
		{"ALLOCATED+FAIL", "failing"},
		{"IDLE+COMPLETING+FAIL", "failing"},
		{"ALLOCATED+FAIL+NOT_RESPONDING", "failing*"},
		{"DOWN+FAIL+NOT_RESPONDING", "fail*"},
		{"MIXED+DRAIN+FAIL", "draining"}, // drain outranks fail

		// maintenance and reboot
		{"IDLE+MAINTENANCE", "maint"},
		{"IDLE+MAINTENANCE+NOT_RESPONDING", "maint*"},
		{"MIXED+MAINTENANCE", "mixed$"},
		{"ALLOCATED+MAINTENANCE", "allocated$"},
		{"DOWN+MAINTENANCE", "down$"},
		{"IDLE+RESERVED+MAINTENANCE", "maint"},
		{"IDLE+REBOOT_REQUESTED", "reboot"},
		{"DOWN+REBOOT_ISSUED", "reboot^"},
		{"MIXED+REBOOT_REQUESTED", "mixed@"},
		{"ALLOCATED+REBOOT_ISSUED", "allocated^"},

		// power saving
		{"IDLE+POWERED_DOWN", "idle~"},
		{"IDLE+POWERING_UP", "idle#"},
		{"IDLE+POWERING_DOWN", "idle%"},
		{"IDLE+POWER_DOWN", "idle!"},
		{"DOWN+POWERED_DOWN", "down~"},
		{"IDLE+POWERED_DOWN+NOT_RESPONDING", "idle~"}, // one suffix only, ~ before *
		{"UNKNOWN+POWERED_DOWN", "powered_down"},
		{"UNKNOWN+POWERING_UP", "powering_up"},
		{"UNKNOWN+CLOUD", "cloud"},
		{"UNKNOWN+REBOOT_CANCELED", "cancel_reboot"},
		{"UNKNOWN+CLOUD+POWERED_DOWN", "unknown"}, // the lone-flag rule compares the whole state

		// completing, reserved, planned
		{"ALLOCATED+COMPLETING", "allocated+"},
		{"MIXED+COMPLETING", "completing"},
		{"IDLE+COMPLETING", "completing"},
		{"IDLE+COMPLETING+NOT_RESPONDING", "completing*"},
		{"IDLE+RESERVED", "reserved"},
		{"IDLE+RESERVED+NOT_RESPONDING", "idle*"}, // a suffix keeps the word idle
		{"IDLE+PLANNED", "planned"},
		{"MIXED+PLANNED", "mixed-"},
		{"MIXED+PLANNED+NOT_RESPONDING", "mixed*"},
		{"UNKNOWN+RESUME", "resume"},
		{"IDLE+INVALID_REG+DRAIN", "inval"},
	}
	for _, tt := range tests {
		state, flags := ParseNodeState(tt.scontrol)
		word, suffix := SinfoState(Node{State: state, Flags: flags})
		if got := word + suffix; got != tt.want {
			t.Errorf("%s (state %s, flags %v): sinfo state %q, want %q", tt.scontrol, state, flags, got, tt.want)
		}
	}
}
