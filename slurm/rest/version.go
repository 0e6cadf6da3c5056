package rest

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// apiVersion is one slurmrestd OpenAPI version jobscope can decode.
type apiVersion struct {
	name  string // "v0.0.44"
	minor int    // 44
}

// supportedMinors lists the versions jobscope decodes, newest first. v0.0.36
// is left out on purpose: it predates update_time and the decoders' support.
var supportedMinors = []int{45, 44, 43, 42, 41, 40, 39, 38, 37}

func versionFromMinor(m int) apiVersion {
	return apiVersion{name: "v0.0." + strconv.Itoa(m), minor: m}
}

// parseVersion accepts "v0.0.38", "0.0.38" or "38".
func parseVersion(s string) (apiVersion, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "v"), "0.0.")
	m, err := strconv.Atoi(t)
	if err != nil {
		return apiVersion{}, fmt.Errorf("bad slurmrestd API version %q (want e.g. v0.0.44)", s)
	}
	if slices.Contains(supportedMinors, m) {
		return versionFromMinor(m), nil
	}
	return apiVersion{}, fmt.Errorf("slurmrestd API version %q is not supported (supported: v0.0.37 to v0.0.45)", s)
}

// path is the URL path of a slurmctld resource. From v0.0.40 the spec lists
// the collection endpoints with a trailing slash ("/slurm/v0.0.44/jobs/");
// shares never had one.
func (v apiVersion) path(resource string) string {
	p := "/slurm/" + v.name + "/" + resource
	if v.minor >= 40 && resource != "shares" {
		p += "/"
	}
	return p
}

// hasShares: /slurm/vX/shares exists from v0.0.41.
func (v apiVersion) hasShares() bool { return v.minor >= 41 }

// sendsUpdateTime says whether jobscope passes update_time for jobs, nodes
// and partitions with this version. v0.0.37/38 (Slurm 22.05) accept it, and
// this was observed on the real Debian 22.05.8 slurmrestd:
//
//	GET /slurm/v0.0.38/jobs?update_time=<before the last change>  -> 200, full body
//	GET /slurm/v0.0.38/jobs?update_time=<now or later>            -> 304 NOT MODIFIED, empty body
//
// (same for nodes and partitions; no Date header and no last_update field
// in the body, so the time sent has to come from jobscope's own clock, see
// Options.UpdateTimeSlack). Versions v0.0.39+ also take update_time, but no
// server of those versions was available to see what "unchanged" looks like
// (an empty list with 200 would wipe the cached data), so they are asked
// for everything every time; a 304 from them is still honoured.
//
// Except for nodes: Debian's 22.05.8 slurmrestd answers
// /nodes?update_time=T with HTTP 500 "Unspecified error" when T is between
// a few seconds and some minutes ago (seen: 304 for now and now-5s, 500 for
// now-30s and now-300s, 200 for now-3000s), which is exactly the range a
// poller sends. Nodes are few next to jobs, so they are always fetched whole.
func (v apiVersion) sendsUpdateTime(resource string) bool {
	return (v.minor == 37 || v.minor == 38) && resource != "nodes"
}

// scanSpecVersions reads an OpenAPI document as a stream and returns the
// set of "/slurm/v0.0.NN/" versions whose paths it mentions.
func scanSpecVersions(r io.Reader) (map[int]bool, error) {
	found, err := scanSpec(r)
	out := make(map[int]bool, len(found))
	for m := range found {
		out[m] = true
	}
	return out, err
}

// scanSpec reads an OpenAPI document as a stream and returns, for every
// "/slurm/v0.0.NN/" version whose paths it mentions, the set of resources
// listed under it (the path segment after the version: "jobs", "shares",
// "job" for "/job/{job_id}"). The document is ~0.5 MB and only path keys
// matter, so it is scanned for the byte pattern rather than decoded. Slurm
// 22.05 escapes slashes in JSON ("\/slurm\/"), so backslashes are skipped
// before matching.
func scanSpec(r io.Reader) (map[int]map[string]bool, error) {
	const pat = "/slurm/v0.0."
	fail := kmpFailure(pat)
	br := bufio.NewReaderSize(r, 64*1024)
	found := map[int]map[string]bool{}
	add := func(minor int, resource string) {
		if found[minor] == nil {
			found[minor] = map[string]bool{}
		}
		if resource != "" {
			found[minor][resource] = true
		}
	}
	state := 0 // bytes of pat matched
	num := -1  // digits after a full match, -1 when not collecting
	var name []byte
	naming := false // collecting the resource after "/slurm/v0.0.NN/"
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			if naming {
				add(num, string(name))
			}
			return found, nil
		}
		if err != nil {
			return found, err
		}
		if c == '\\' {
			continue
		}
		if naming {
			if (c >= 'a' && c <= 'z' || c == '_') && len(name) < 64 {
				name = append(name, c)
				continue
			}
			add(num, string(name))
			naming, num, name = false, -1, name[:0]
		} else if num >= 0 {
			if c >= '0' && c <= '9' && num < 1000 {
				num = num*10 + int(c-'0')
				continue
			}
			switch c {
			case '/':
				naming = true
				state = 0
				continue
			case '"':
				add(num, "")
			}
			num = -1
			state = 0
		}
		for state > 0 && pat[state] != c {
			state = fail[state-1]
		}
		if pat[state] == c {
			state++
		}
		if state == len(pat) {
			num, state = 0, 0
		}
	}
}

// kmpFailure is the Knuth-Morris-Pratt failure table, so a near miss such
// as "/slurm/slurm/v0.0.38" is still found.
func kmpFailure(p string) []int {
	f := make([]int, len(p))
	k := 0
	for i := 1; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = f[k-1]
		}
		if p[i] == p[k] {
			k++
		}
		f[i] = k
	}
	return f
}
