package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outcome records what Tool asked of its test instead of ending it.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()           {}
func (o *outcome) Skip(args ...any)  { o.skipped = fmt.Sprint(args...) }
func (o *outcome) Fatal(args ...any) { o.failed = fmt.Sprint(args...) }

func TestTool(t *testing.T) {
	gobin := t.TempDir()
	t.Setenv("GOBIN", gobin)
	t.Setenv("CI", "")
	bin := filepath.Join(gobin, "jobscope-testkit-tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Not on PATH, found where go install puts it.
	if got := Tool(t, "jobscope-testkit-tool", "nothing"); got != bin {
		t.Errorf("Tool = %q, want %q", got, bin)
	}
	// A file there that is not executable is not the tool.
	if err := os.Chmod(bin, 0o644); err != nil {
		t.Fatal(err)
	}
	o := &outcome{TB: t}
	if got := Tool(o, "jobscope-testkit-tool", "make tools"); got != "" || !strings.Contains(o.skipped, gobin) || !strings.Contains(o.skipped, "make tools installs it") || o.failed != "" {
		t.Errorf("non-executable: got %q, skipped %q, failed %q", got, o.skipped, o.failed)
	}
	// Under CI a missing tool fails the test (a real Fatal ends it
	// before the Skip).
	t.Setenv("CI", "true")
	o = &outcome{TB: t}
	if Tool(o, "jobscope-testkit-missing", "make deps"); !strings.Contains(o.failed, "CI must run make deps") {
		t.Errorf("under CI: failed %q", o.failed)
	}
	// On PATH wins.
	if got := Tool(t, "go", "nothing"); filepath.Base(got) != "go" {
		t.Errorf("Tool(go) = %q", got)
	}
}
