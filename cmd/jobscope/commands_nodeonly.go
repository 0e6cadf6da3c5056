//go:build jobscope_nodeonly

package main

// bin/jobscope-node (go build -tags jobscope_nodeonly): `jobscope node`
// alone, for the agent on every GPU node, which then maps and caches none of
// the slurm and report commands' code; docs/performance.md says why.

// appName names the binary in --help, --version and errors.
const appName = "jobscope-node"

// defaultCommand is node: `jobscope-node [flags]` and `jobscope-node node
// [flags]` run the same agent, so units and charts written for either work.
const defaultCommand = "node"

// commands lists every command of the binary.
var commands = []command{
	nodeCommand,
}
