package nodelocal

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// CgroupJob is what a cgroup path tells about the Slurm job it belongs to.
type CgroupJob struct {
	// JobID is the numeric job ID from a `job_N` directory; "" for a SLUID
	// directory (Slurm 26.05's default, which does not contain the job ID).
	JobID string
	// SLUID is the job directory's name when it is a SLUID.
	SLUID string
	// UID is N of cgroup v1's `uid_N`; -1 when absent (cgroup v2).
	UID int
	// Step is "batch", "extern", "interactive", "0", …; "" for the job
	// directory itself or slurmstepd's own `slurm` cgroup.
	Step string
	// JobDir is the path prefix up to and including the job directory.
	JobDir string
}

// Key is the job ID, or the SLUID when the ID is not known.
func (c CgroupJob) Key() string {
	if c.JobID != "" {
		return c.JobID
	}
	return c.SLUID
}

// sluidRE matches a Slurm Lexicographically-sortable Unique ID as 26.05 names
// job cgroups by default: "s" and 13 Crockford base-32 characters, e.g.
// sEKNKTV3WPV500 (cgroup.conf(5), CgroupJobIdPaths).
var sluidRE = regexp.MustCompile(`^s[0-9A-HJKMNP-TV-Z]{13}$`)

// IsSLUID reports whether s looks like a SLUID.
func IsSLUID(s string) bool { return sluidRE.MatchString(s) }

// ParseCgroupPath finds the Slurm job in a cgroup path, as found in
// /proc/PID/cgroup or under the cgroup filesystem. It recognises
//
//	v1: …/slurm/uid_N/job_N/step_S/task_T (and slurm_NODE for several slurmd)
//	v2: …/slurmstepd.scope/job_N/step_S/user/task_T (also NODE_slurmstepd.scope,
//	    any CgroupSlice, and any prefix such as a slurmd pod's kubepods cgroup
//	    under Slinky)
//	26.05: the same with the job directory named by its SLUID.
//
// A job directory only counts below a Slurm parent (slurm*, *slurmstepd.scope
// or uid_N), so a `job_1` elsewhere is not taken for a Slurm job.
func ParseCgroupPath(p string) (CgroupJob, bool) {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if i == 0 || !slurmParent(parts[i-1]) {
			continue
		}
		c := CgroupJob{UID: -1}
		switch {
		case strings.HasPrefix(part, "job_"):
			id := part[len("job_"):]
			if !isJobID(id) {
				continue
			}
			c.JobID = id
		case IsSLUID(part):
			c.SLUID = part
		default:
			continue
		}
		if u, ok := strings.CutPrefix(parts[i-1], "uid_"); ok {
			if n, err := strconv.Atoi(u); err == nil && n >= 0 {
				c.UID = n
			}
		}
		c.JobDir = strings.Join(parts[:i+1], "/")
		if i+1 < len(parts) {
			if s, ok := strings.CutPrefix(parts[i+1], "step_"); ok && s != "" {
				c.Step = s
			}
		}
		return c, true
	}
	return CgroupJob{}, false
}

// slurmParent names the directories a job directory sits in: a Slurm
// cgroup root, or cgroup v1's uid_N below one.
func slurmParent(s string) bool {
	return isSlurmRoot(s) || strings.HasPrefix(s, "uid_")
}

// isJobID accepts Slurm's numeric job IDs (uint32, no sign, no leading +).
func isJobID(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n > 0
}

// ParseProcCgroup returns the cgroup path of a /proc/PID/cgroup file: the
// v2 (unified, "0::") line, else a v1 line of a controller Slurm confines
// jobs with. On a hybrid host (v1 controllers next to a unified "0::"
// line) Slurm confines jobs with the v1 controllers and the "0::" line only
// names the systemd unit the task inherited (slurmd.service), so there the
// path that names a Slurm job wins.
func ParseProcCgroup(content string) string {
	var v1, v2 string
	for _, line := range strings.Split(content, "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrls == "" {
			v2 = path
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if slices.Contains(v1Controllers, c) && (v1 == "" || c == "devices") {
				v1 = path
			}
		}
	}
	if v2 == "" {
		return v1
	}
	if v1 != "" {
		if _, ok := ParseCgroupPath(v2); !ok {
			if _, ok := ParseCgroupPath(v1); ok {
				return v1
			}
		}
	}
	return v2
}

// ParseStepdTitle reads slurmstepd's process title ("slurmstepd: [1234.0]",
// "slurmstepd: [1234.extern]") from /proc/PID/cmdline and returns the job
// ID: how a SLUID-named job cgroup is tied to its job ID.
func ParseStepdTitle(cmdline string) (string, bool) {
	s := strings.TrimRight(cmdline, "\x00 ")
	rest, ok := strings.CutPrefix(s, "slurmstepd: [")
	if !ok {
		return "", false
	}
	inner, _, ok := strings.Cut(rest, "]")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(inner, ".")
	if !isJobID(id) {
		return "", false
	}
	return id, true
}
