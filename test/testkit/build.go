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
	bin := filepath.Join(tb.TempDir(), "jobscope")
	if out, err := exec.Command("go", "build", "-o", bin, "jobscope/cmd/jobscope").CombinedOutput(); err != nil {
		tb.Fatalf("go build jobscope: %v\n%s", err, out)
	}
	return bin
}
