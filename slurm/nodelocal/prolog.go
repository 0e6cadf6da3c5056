package nodelocal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultPrologDir is where deploy/slurm/jobscope-prolog.sh writes one file
// per job (below --path.rootfs).
const DefaultPrologDir = "/run/jobscope/slurm-jobs"

// PrologJob is one file written by jobscope's prolog.
type PrologJob struct {
	ID    string
	SLUID string
	UID   int // -1 when absent
	Start time.Time
	// GPUUUIDs from CUDA_VISIBLE_DEVICES (Slurm 25.11+) or nvidia-smi.
	GPUUUIDs []string
	// GPUIndices are SLURM_JOB_GPUS, Slurm's GRES indices, for when the
	// prolog could not translate them; the agent maps them to GPUs by
	// /dev/nvidiaN minor number, which is what Slurm's indices follow.
	GPUIndices []int
	// Node is SLURMD_NODENAME, the Slurm NodeName of the slurmd that ran
	// the prolog; "" from prologs older than the node= line.
	Node string
}

// ParsePrologFile parses a prolog file: key=value lines, unknown keys
// ignored so newer prologs keep working with older agents.
func ParsePrologFile(content string) (PrologJob, error) {
	j := PrologJob{UID: -1}
	for n, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return PrologJob{}, fmt.Errorf("line %d: no '='", n+1)
		}
		if v == "" && k != "job_id" {
			// The prolog writes every key; an empty value means unknown.
			continue
		}
		switch k {
		case "job_id":
			if !isJobID(v) {
				return PrologJob{}, fmt.Errorf("line %d: bad job_id %q", n+1, v)
			}
			j.ID = v
		case "sluid":
			if v != "" && !IsSLUID(v) {
				return PrologJob{}, fmt.Errorf("line %d: bad sluid %q", n+1, v)
			}
			j.SLUID = v
		case "uid":
			u, err := strconv.Atoi(v)
			if err != nil || u < 0 {
				return PrologJob{}, fmt.Errorf("line %d: bad uid %q", n+1, v)
			}
			j.UID = u
		case "start":
			s, err := strconv.ParseInt(v, 10, 64)
			if err != nil || s < 0 {
				return PrologJob{}, fmt.Errorf("line %d: bad start %q", n+1, v)
			}
			j.Start = time.Unix(s, 0)
		case "gpu_uuids":
			for _, u := range splitList(v) {
				if !strings.HasPrefix(u, "GPU-") && !strings.HasPrefix(u, "MIG-") {
					return PrologJob{}, fmt.Errorf("line %d: bad GPU UUID %q", n+1, u)
				}
				j.GPUUUIDs = append(j.GPUUUIDs, u)
			}
		case "node":
			if !isNodeName(v) {
				return PrologJob{}, fmt.Errorf("line %d: bad node %q", n+1, v)
			}
			j.Node = v
		case "gpu_indices":
			for _, s := range splitList(v) {
				i, err := strconv.Atoi(s)
				if err != nil || i < 0 {
					return PrologJob{}, fmt.Errorf("line %d: bad GPU index %q", n+1, s)
				}
				j.GPUIndices = append(j.GPUIndices, i)
			}
		}
	}
	if j.ID == "" {
		return PrologJob{}, fmt.Errorf("no job_id")
	}
	return j, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// isNodeName accepts a Slurm NodeName: a host-name-like word (slurm.conf
// NodeName values are single words; hostlist syntax never reaches a
// prolog's SLURMD_NODENAME).
func isNodeName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == ',' || r == '=' || r == '[' || r == ']' || r > '~' {
			return false
		}
	}
	return s != ""
}

// PairGRESIndices pairs a prolog file's GPU UUIDs with its GRES indices,
// uuids[i] with indices[i], and returns nil unless the two lists pair one
// to one. The prolog writes both in Slurm's index order (SLURM_JOB_GPUS
// and CUDA_VISIBLE_DEVICES are both built from the job's GRES bitmap in
// ascending order; a translated index that found no UUID leaves the UUID
// list shorter), so equal lengths with no repeats are a true pairing and
// anything else is not one.
func PairGRESIndices(uuids []string, indices []int) map[string]int {
	if len(uuids) == 0 || len(uuids) != len(indices) {
		return nil
	}
	out := make(map[string]int, len(uuids))
	seen := make(map[int]bool, len(indices))
	for i, u := range uuids {
		if _, dup := out[u]; dup || seen[indices[i]] {
			return nil
		}
		out[u] = indices[i]
		seen[indices[i]] = true
	}
	return out
}
