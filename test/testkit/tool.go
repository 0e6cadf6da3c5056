package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool finds an external program a test runs: on PATH, or where `go
// install` puts it ($(go env GOBIN), else $(go env GOPATH)/bin), which is
// often not on PATH (the Makefile's helm and tools targets build helm,
// VictoriaMetrics and vmalert that way). Where it is missing the test is
// skipped, naming install (what installs it, e.g. "make helm"); under CI,
// which runs make deps, a missing tool fails the test instead.
func Tool(tb testing.TB, name, install string) string {
	tb.Helper()
	p, msg := FindTool(name, install)
	if p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + "; CI must run make deps")
	}
	tb.Skip(msg)
	return ""
}

// FindTool is Tool's search without a test: the program's path, or "" and
// why it is missing, for a test that runs it as one part of its work and
// goes on without it.
func FindTool(name, install string) (path, why string) {
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	dirs := goBinDirs()
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, ""
		}
	}
	return "", name + " not found on PATH nor in " + strings.Join(dirs, ", ") + " (" + install + " installs it)"
}

// goBinDirs are the folders `go install` writes to: GOBIN when set, and
// the bin folder of every GOPATH entry.
func goBinDirs() []string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var dirs []string
	if len(lines) > 0 && lines[0] != "" {
		dirs = append(dirs, lines[0])
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(lines[1]) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}
