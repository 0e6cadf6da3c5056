//go:build !jobscope_nodeonly

package main

// The full binary, bin/jobscope: every command. The node-only build
// (commands_nodeonly.go) leaves slurm and report out; docs/performance.md
// says why.

// appName names the binary in --help, --version and errors.
const appName = "jobscope"

// defaultCommand runs when args name no command; "" means one must be named.
const defaultCommand = ""

// commands lists every command of the binary.
var commands = []command{
	slurmCommand,
	nodeCommand,
	reportCommand,
}
