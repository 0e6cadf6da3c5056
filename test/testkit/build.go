package testkit

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildJobscope builds the jobscope binary from the module into the test's
// temporary folder and returns its path, for tests that run the real
// binary as users do. A build failure fails the test with go's output.
func BuildJobscope(tb testing.TB) string {
	tb.Helper()
	return build(tb, "jobscope")
}

// BuildJobscopeNode builds jobscope-node, the node agent alone (`make
// build`'s bin/jobscope-node: the same main package with -tags
// jobscope_nodeonly), the binary the chart's DaemonSet and the node's
// systemd unit run.
func BuildJobscopeNode(tb testing.TB) string {
	tb.Helper()
	return build(tb, "jobscope-node", "-tags", "jobscope_nodeonly")
}

func build(tb testing.TB, name string, flags ...string) string {
	bin := filepath.Join(tb.TempDir(), name)
	args := append(append([]string{"build"}, flags...), "-o", bin, "jobscope/cmd/jobscope")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}
