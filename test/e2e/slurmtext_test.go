package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// What Slurm says, parsed here from the CLI's text output with nothing from jobscope.

type nodeTruth struct {
	Name              string
	State             string   // base state, lower case: idle, mixed, allocated, ...
	Flags             []string // lower case: drain, not_responding, ...
	Reason            string   // sinfo %E; "" for none
	Sinfo             string   // sinfo %T as printed: drained, draining, idle*, mixed, ...
	Partitions        []string
	CPUs, CPUsAlloc   int
	MemMB, MemAllocMB int
	GPUs, GPUsUsed    map[string]int // by type
}

type jobAlloc struct {
	Node    string
	CPUs    int
	GPUType string
	GPUIdx  []int
}

type jobTruth struct {
	ID, ArrayJobID, ArrayTaskID                        string
	Name, User, Account, Partition, QOS, State, Reason string
	CPUs                                               int
	Alloc                                              []jobAlloc
	// SubmitTime is scontrol's SubmitTime, zero when it prints none.
	SubmitTime time.Time
}

type shareTruth struct {
	Account, User string
	FairShare     float64
}

type truth struct {
	Nodes  map[string]*nodeTruth
	Jobs   []*jobTruth
	Shares []shareTruth
}

func run(name string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// readTruth asks Slurm for its nodes, jobs and fairshare tree.
func readTruth() (*truth, error) {
	t := &truth{Nodes: map[string]*nodeTruth{}}
	out, err := run("scontrol", "show", "node", "-d", "-o")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		n, err := parseNodeLine(line)
		if err != nil {
			return nil, err
		}
		t.Nodes[n.Name] = n
	}
	// sinfo: a second, independent view of CPUs and memory, the state word sinfo prints,
	// and the reason text alone (last: it may hold a '|'). -N lists a node once per
	// partition it is in.
	out, err = run("sinfo", "-h", "-N", "-o", "%N|%C|%m|%T|%E")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			return nil, fmt.Errorf("sinfo line %q", line)
		}
		state, reason := f[3], f[4]
		n := t.Nodes[f[0]]
		if n == nil {
			return nil, fmt.Errorf("sinfo node %s not in scontrol", f[0])
		}
		cpus := strings.Split(f[1], "/") // alloc/idle/other/total
		if len(cpus) != 4 || cpus[0] != strconv.Itoa(n.CPUsAlloc) || cpus[3] != strconv.Itoa(n.CPUs) {
			return nil, fmt.Errorf("node %s: sinfo CPUs %s, scontrol %d/%d (changing under us?)", n.Name, f[1], n.CPUsAlloc, n.CPUs)
		}
		if f[2] != strconv.Itoa(n.MemMB) {
			return nil, fmt.Errorf("node %s: sinfo memory %s, scontrol %d", n.Name, f[2], n.MemMB)
		}
		if reason != "none" {
			n.Reason = reason
		}
		if n.Sinfo != "" && n.Sinfo != state {
			return nil, fmt.Errorf("node %s: sinfo state %s in one partition, %s in another (changing under us?)", n.Name, n.Sinfo, state)
		}
		n.Sinfo = state
	}
	out, err = run("scontrol", "show", "job", "-d", "-o")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		j, err := parseJobLine(line)
		if err != nil {
			return nil, err
		}
		t.Jobs = append(t.Jobs, j)
	}
	out, err = run("sshare", "-a", "-l", "-P")
	if err != nil {
		return nil, err
	}
	t.Shares, err = parseShares(out)
	return t, err
}

func lines(s string) []string {
	var l []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			l = append(l, sc.Text())
		}
	}
	return l
}

var keyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_:/]*$`) // JobId, AllocNode:Sid, CPUs/Task

// fields splits a one-line scontrol record into key=value pairs in order. Values with
// spaces (a node's Reason=...) run on until the next token that looks like Key=.
func fields(line string) [][2]string {
	var kv [][2]string
	for _, tok := range strings.Fields(line) {
		k, v, ok := strings.Cut(tok, "=")
		if ok && keyRE.MatchString(k) {
			kv = append(kv, [2]string{k, v})
		} else if len(kv) > 0 {
			kv[len(kv)-1][1] += " " + tok
		}
	}
	return kv
}

func parseNodeLine(line string) (*nodeTruth, error) {
	n := &nodeTruth{GPUs: map[string]int{}, GPUsUsed: map[string]int{}}
	var err error
	atoi := func(s string) int {
		v, e := strconv.Atoi(s)
		if e != nil && err == nil {
			err = fmt.Errorf("node line %q: %v", line, e)
		}
		return v
	}
	for _, kv := range fields(line) {
		switch v := kv[1]; kv[0] {
		case "NodeName":
			n.Name = v
		case "State":
			parts := strings.Split(strings.ToLower(v), "+")
			n.State = parts[0]
			n.Flags = parts[1:]
		case "Partitions":
			n.Partitions = strings.Split(v, ",")
		case "CPUTot":
			n.CPUs = atoi(v)
		case "CPUAlloc":
			n.CPUsAlloc = atoi(v)
		case "RealMemory":
			n.MemMB = atoi(v)
		case "AllocMem":
			n.MemAllocMB = atoi(v)
		case "Gres":
			for _, g := range gresList(v) {
				n.GPUs[g.typ] += g.count
			}
		case "GresUsed":
			for _, g := range gresList(v) {
				n.GPUsUsed[g.typ] += g.count
			}
		}
	}
	if n.Name == "" {
		return nil, fmt.Errorf("no NodeName in %q", line)
	}
	return n, err
}

type gres struct {
	typ   string
	count int
	idx   []int
}

// gresList parses "gpu:h100:4(IDX:0-3),gpu:a100:1(S:0)" into its gpu entries.
func gresList(s string) []gres {
	var out []gres
	if s == "" || s == "(null)" || s == "N/A" {
		return nil
	}
	for _, item := range splitTop(s) {
		spec, extra, _ := strings.Cut(item, "(")
		p := strings.Split(spec, ":")
		if p[0] != "gpu" {
			continue
		}
		g := gres{}
		switch len(p) {
		case 2:
			g.count, _ = strconv.Atoi(p[1])
		case 3:
			g.typ = p[1]
			g.count, _ = strconv.Atoi(p[2])
		}
		if i := strings.Index(extra, "IDX:"); i >= 0 {
			idx := strings.TrimSuffix(extra[i+4:], ")")
			if idx != "N/A" {
				g.idx = expandInts(idx)
			}
		}
		out = append(out, g)
	}
	return out
}

func parseJobLine(line string) (*jobTruth, error) {
	j := &jobTruth{}
	// -d adds one group "Nodes=... CPU_IDs=... Mem=... GRES=..." per set of nodes with the same allocation
	type group struct {
		nodes []string
		alloc jobAlloc
	}
	var groups []*group
	for _, kv := range fields(line) {
		var g *group
		if len(groups) > 0 {
			g = groups[len(groups)-1]
		}
		switch v := kv[1]; kv[0] {
		case "JobId":
			j.ID = v
		case "ArrayJobId":
			j.ArrayJobID = v
		case "ArrayTaskId":
			j.ArrayTaskID = v
		case "JobName":
			j.Name = v
		case "UserId":
			j.User, _, _ = strings.Cut(v, "(")
		case "Account":
			j.Account = v
		case "Partition":
			j.Partition = v
		case "QOS":
			j.QOS = v
		case "JobState":
			j.State = strings.ToLower(v)
		case "Reason":
			j.Reason = v
		case "NumCPUs":
			j.CPUs, _ = strconv.Atoi(v)
		case "SubmitTime":
			// scontrol prints the controller's local time, no zone: the
			// e2e cluster runs on this host, in its time zone.
			if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, time.Local); err == nil {
				j.SubmitTime = t
			}
		case "Nodes":
			groups = append(groups, &group{nodes: expandHostlist(v)})
		case "CPU_IDs":
			if g != nil {
				g.alloc.CPUs = len(expandInts(v))
			}
		case "GRES":
			if g != nil {
				for _, r := range gresList(v) {
					g.alloc.GPUType = r.typ
					g.alloc.GPUIdx = append(g.alloc.GPUIdx, r.idx...)
				}
			}
		}
	}
	for _, g := range groups {
		for _, n := range g.nodes {
			a := g.alloc
			a.Node = n
			j.Alloc = append(j.Alloc, a)
		}
	}
	if j.ID == "" {
		return nil, fmt.Errorf("no JobId in %q", line)
	}
	return j, nil
}

func parseShares(out string) ([]shareTruth, error) {
	ls := lines(out)
	if len(ls) == 0 {
		return nil, fmt.Errorf("sshare: no output")
	}
	head := strings.Split(ls[0], "|")
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range []string{"Account", "User", "FairShare"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("sshare: no column %s in %q", c, ls[0])
		}
	}
	var shares []shareTruth
	for _, l := range ls[1:] {
		f := strings.Split(l, "|")
		if len(f) != len(head) || f[col["User"]] == "" || f[col["FairShare"]] == "" {
			continue // account rows carry no fairshare factor in 22.05
		}
		v, err := strconv.ParseFloat(f[col["FairShare"]], 64)
		if err != nil {
			return nil, fmt.Errorf("sshare line %q: %v", l, err)
		}
		shares = append(shares, shareTruth{Account: strings.TrimSpace(f[col["Account"]]), User: f[col["User"]], FairShare: v})
	}
	return shares, nil
}

// splitTop splits on commas outside brackets and parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// expandInts expands "0-2,5" to [0 1 2 5].
func expandInts(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			continue
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// expandHostlist expands "node[1-2,4],gpu7" (one bracket group per name, as Slurm prints here).
func expandHostlist(s string) []string {
	var out []string
	for _, item := range splitTop(s) {
		prefix, rest, ok := strings.Cut(item, "[")
		if !ok {
			out = append(out, item)
			continue
		}
		body, suffix, _ := strings.Cut(rest, "]")
		for _, part := range strings.Split(body, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			if !isRange {
				out = append(out, prefix+lo+suffix)
				continue
			}
			a, _ := strconv.Atoi(lo)
			b, _ := strconv.Atoi(hi)
			for i := a; i <= b; i++ {
				out = append(out, fmt.Sprintf("%s%0*d%s", prefix, len(lo), i, suffix))
			}
		}
	}
	sort.Strings(out)
	return out
}
