package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
)

// The test binary is a plain `go test` build (no -ldflags): what --version
// and jobscope_build_info say there is the fallback, and never empty.
func TestBuildInfoVersionNeverEmpty(t *testing.T) {
	if version.Version == "" || version.GetRevision() == "" {
		t.Fatalf("version %q, revision %q", version.Version, version.GetRevision())
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("jobscope"))
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "jobscope_build_info" {
		t.Fatalf("gather: %v, %v", mfs, err)
	}
	for _, l := range mfs[0].GetMetric()[0].GetLabel() {
		if l.GetName() == "version" && l.GetValue() != version.Version {
			t.Fatalf("jobscope_build_info version=%q, want %q", l.GetValue(), version.Version)
		}
	}
	if !strings.Contains(version.Print("jobscope"), "version "+version.Version+" ") {
		t.Fatalf("--version text: %s", version.Print("jobscope"))
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-06T22:00:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	rev := "05ee7e1a8f3c2b1d4e5f60718293a4b5c6d7e8f9"
	for _, tc := range []struct {
		name         string
		bi           *debug.BuildInfo
		ver, wantRev string
		wantDate     string
	}{
		{"no build info", nil, "unknown", "", ""},
		{"go build, no VCS (-buildvcs=false, git worktree)", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "unknown", "", ""},
		{"go build in a clone, clean", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "05ee7e1a8f3c", rev, "2026-12-06T22:00:00Z"},
		{"go build in a clone, edited", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "05ee7e1a8f3c-dirty", rev, "2026-12-06T22:00:00Z"},
		{"go 1.24+ pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206220000-05ee7e1a8f3c+dirty"}, Settings: vcs(rev, "true")}, "v0.0.0-20261206220000-05ee7e1a8f3c+dirty", rev, "2026-12-06T22:00:00Z"},
		{"go install module@tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver, r, date := versionFromBuildInfo(tc.bi)
			if ver != tc.ver || r != tc.wantRev || date != tc.wantDate {
				t.Fatalf("got %q %q %q, want %q %q %q", ver, r, date, tc.ver, tc.wantRev, tc.wantDate)
			}
		})
	}
}

// TestMakeBuildVersion builds the binaries as `make build` does and checks
// that --version names what git says about this checkout, the same in both.
func TestMakeBuildVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			t.Skipf("not a git checkout (git %v: %v)", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	rev := git("rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "jobscope")
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "build", "BIN="+bin)
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	// After the build: the build itself must not make the tree dirty.
	describe := git("describe", "--tags", "--always", "--dirty")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := "jobscope, version " + describe + " (branch: " + git("rev-parse", "--abbrev-ref", "HEAD") + ", revision: " + rev + ")"
	if first, _, _ := strings.Cut(string(out), "\n"); first != want {
		t.Fatalf("--version says\n%s\nwant first line\n%s", out, want)
	}
	if !strings.Contains(string(out), "build date:       20") {
		t.Fatalf("no build date:\n%s", out)
	}
	// make build writes jobscope-node beside it, from the same -ldflags.
	nodeOut, err := exec.Command(filepath.Join(filepath.Dir(bin), "jobscope-node"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("jobscope-node --version: %v\n%s", err, nodeOut)
	}
	// The same version, branch, revision, build user and date: all before "go version".
	head := func(b []byte) string { h, _, _ := strings.Cut(string(b), "  go version:"); return h }
	if got, want := head(nodeOut), "jobscope-node"+strings.TrimPrefix(head(out), "jobscope"); got != want {
		t.Errorf("jobscope-node --version says\n%s\nwant\n%s", got, want)
	}
}
