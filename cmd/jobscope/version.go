package main

import (
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// --version, the landing page and jobscope_build_info read
// github.com/prometheus/common/version, whose variables `make build` sets
// with -ldflags from git (git describe, rev-parse). A plain `go build` or
// `go install` sets none of them; the gaps are filled from what the Go
// toolchain stamped into the binary, so that the version is never empty.
func init() {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	v, rev, date := versionFromBuildInfo(bi)
	if version.Version == "" {
		version.Version = v
	}
	if version.Revision == "" {
		version.Revision = rev
	}
	if version.BuildDate == "" {
		version.BuildDate = date
	}
}

// versionFromBuildInfo returns a version, revision and build date from the
// build information: the module version Go derived from the VCS (a tag, or
// a pseudo-version with the commit), else the commit itself (12 digits,
// "-dirty" with uncommitted changes), else "unknown". rev and date are ""
// when the build recorded no VCS information.
func versionFromBuildInfo(bi *debug.BuildInfo) (ver, rev, date string) {
	if bi == nil {
		return "unknown", "", ""
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		ver = bi.Main.Version
	case rev != "":
		ver = rev
		if len(ver) > 12 {
			ver = ver[:12]
		}
		if modified {
			ver += "-dirty"
		}
	default:
		ver = "unknown"
	}
	return ver, rev, date
}
