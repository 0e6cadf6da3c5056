package e2e

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

const pollInterval = "--slurm.poll-interval=2s"

func TestRESTWithJWT(t *testing.T) {
	c := needCluster(t)
	e := startExporter(t, "--slurm.source=rest", "--slurm.rest-url="+c.restURL,
		"--slurm.token-file="+c.tokenFile, "--slurm.user="+c.user, pollInterval)
	e.eventually(60*time.Second, "jobscope_slurm_up 1", upIs(1))
	checkAgainstSlurm(t, e, false)
}

func TestRESTOnUnixSocket(t *testing.T) {
	c := needCluster(t)
	e := startExporter(t, "--slurm.source=rest", "--slurm.rest-url=unix://"+c.socket, pollInterval)
	e.eventually(60*time.Second, "jobscope_slurm_up 1", upIs(1))
	checkAgainstSlurm(t, e, false)
}

func TestCLI(t *testing.T) {
	needCluster(t)
	e := startExporter(t, "--slurm.source=cli", "--slurm.cli.bin-dir=/usr/bin", pollInterval)
	e.eventually(60*time.Second, "jobscope_slurm_up 1", upIs(1))
	checkAgainstSlurm(t, e, true)
}

// TestTokenFile: an expired or malformed token makes jobscope_slurm_up 0 with a log line that says
// so; putting a good token in the file recovers without a restart. The token never
// appears in the log.
func TestTokenFile(t *testing.T) {
	c := needCluster(t)
	good, err := os.ReadFile(c.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	writeToken(t, file, good)
	e := startExporter(t, "--slurm.source=rest", "--slurm.rest-url="+c.restURL,
		"--slurm.token-file="+file, "--slurm.user="+c.user, "--slurm.poll-interval=1s")
	e.eventually(60*time.Second, "jobscope_slurm_up 1 with the good token", upIs(1))

	out, err := run("scontrol", "token", "username="+c.user, "lifespan=1")
	if err != nil {
		t.Fatal(err)
	}
	expired := strings.TrimPrefix(strings.TrimSpace(out), "SLURM_JWT=")
	time.Sleep(2 * time.Second)

	bad := []struct {
		name  string
		token []byte
	}{
		{"expired token", []byte(expired + "\n")},
		{"malformed token", []byte("not-a-jwt\n")},
	}
	for _, b := range bad {
		mark := len(e.logs.String())
		writeToken(t, file, b.token)
		e.eventually(20*time.Second, "jobscope_slurm_up 0 with an "+b.name, upIs(0))
		if line := findLogLine(e.logs.String()[mark:], "token"); line == "" {
			t.Errorf("%s: no warning or error in the log that mentions the token; log since the change:\n%s",
				b.name, tail(e.logs.String()[mark:], 20))
		} else {
			t.Logf("%s: %s", b.name, line)
		}
		writeToken(t, file, good)
		e.eventually(20*time.Second, "jobscope_slurm_up 1 after the good token is back", upIs(1))
	}
	for _, tok := range [][]byte{good, []byte(expired)} {
		if s := strings.TrimSpace(string(tok)); strings.Contains(e.logs.String(), s) {
			t.Errorf("the log contains a token")
		}
	}
}

// TestRESTOutage: slurmrestd hangs, then dies: jobscope_slurm_up goes 0 while every scrape stays
// fast (scrapes never wait on Slurm); slurmrestd comes back and jobscope recovers by itself.
// It stops the cluster's JWT slurmrestd, so it runs last.
func TestRESTOutage(t *testing.T) {
	c := needCluster(t)
	e := startExporter(t, "--slurm.source=rest", "--slurm.rest-url="+c.restURL,
		"--slurm.token-file="+c.tokenFile, "--slurm.user="+c.user, "--slurm.poll-interval=1s")
	e.eventually(60*time.Second, "jobscope_slurm_up 1", upIs(1))

	pidFile := filepath.Join(c.base, "pid", "slurmrestd-jwt.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // whatever happened, leave the cluster as it was
		_ = syscall.Kill(pid, syscall.SIGCONT)
		restartSlurmrestd(t)
	})

	fastWhile := func(what string, d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			if _, took, err := e.scrape(); err != nil {
				t.Fatalf("%s: scrape: %v", what, err)
			} else if took > time.Second {
				t.Errorf("%s: a scrape took %s", what, took)
			}
		}
	}

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Logf("slurmrestd (pid %d) stopped: it accepts connections but answers nothing", pid)
	fastWhile("slurmrestd hung", 4*time.Second)
	e.eventually(20*time.Second, "jobscope_slurm_up 0 while slurmrestd hangs", upIs(0))

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("slurmrestd killed")
	fastWhile("slurmrestd gone", 3*time.Second)
	e.eventually(10*time.Second, "jobscope_slurm_up 0 while slurmrestd is gone", upIs(0))
	e.eventually(5*time.Second, "jobscope_slurm_poll_success{resource=\"jobs\"} 0", func(mfs map[string]*dto.MetricFamily) error {
		if v := series(mfs, "jobscope_slurm_poll_success", "resource")[`{resource="jobs"}`]; v != 0 {
			return fmt.Errorf("jobscope_slurm_poll_success{resource=\"jobs\"} = %v", v)
		}
		return nil
	})

	restartSlurmrestd(t)
	e.eventually(30*time.Second, "jobscope_slurm_up 1 after slurmrestd is back", upIs(1))
	checkAgainstSlurm(t, e, false)
}

func writeToken(t *testing.T, path string, token []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, token, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// findLogLine returns the first warning or error line that mentions word.
func findLogLine(log, word string) string {
	for _, l := range strings.Split(log, "\n") {
		ll := strings.ToLower(l)
		if (strings.Contains(ll, "level=warn") || strings.Contains(ll, "level=error")) && strings.Contains(ll, word) {
			return l
		}
	}
	return ""
}

// restartSlurmrestd runs up.sh, which starts whatever of the cluster is not running.
func restartSlurmrestd(t *testing.T) {
	t.Helper()
	cmd := exec.Command("../slurmlocal/up.sh")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("test/slurmlocal/up.sh: %v\n%s", err, out)
	}
	t.Logf("test/slurmlocal/up.sh: %s", tail(string(out), 4))
}

// checkAgainstSlurm compares jobscope's series with what Slurm says right now, until they
// agree (the exporter serves a poll up to one interval old) or 45 s pass.
func checkAgainstSlurm(t *testing.T, e *exporter, sharesRequired bool) {
	t.Helper()
	var last error
	deadline := time.Now().Add(45 * time.Second)
	for attempt := 1; ; attempt++ {
		tr, err := readTruth()
		if err == nil {
			err = sanity(tr)
		}
		if err != nil {
			t.Fatalf("reading Slurm: %v", err)
		}
		mfs, _, err := e.scrape()
		if err == nil {
			var shares bool
			shares, err = sharesServed(mfs, sharesRequired)
			if err == nil {
				err = compare(mfs, expectations(tr, shares))
			}
			if err == nil {
				t.Logf("jobscope agrees with Slurm (attempt %d; %d nodes, %d jobs, fairshare compared: %v)",
					attempt, len(tr.Nodes), len(tr.Jobs), shares)
				staysHealthy(t, e, 7*time.Second)
				return
			}
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("jobscope and Slurm disagree:\n%v", last)
		}
		time.Sleep(time.Second)
	}
}

// staysHealthy checks that later polls keep succeeding (a poll that only works the first
// time, e.g. with update_time, shows up here): jobscope_slurm_up 1 and every supported resource's
// jobscope_slurm_poll_success 1 on every scrape for d.
func staysHealthy(t *testing.T, e *exporter, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		mfs, _, err := e.scrape()
		if err == nil {
			err = upIs(1)(mfs)
		}
		if err == nil {
			err = allPollsSucceed(mfs)
		}
		if err != nil {
			t.Fatalf("after a poll that agreed with Slurm: %v", err)
		}
	}
}

func allPollsSucceed(mfs map[string]*dto.MetricFamily) error {
	success := series(mfs, "jobscope_slurm_poll_success", "resource")
	var failed []string
	for res, supported := range series(mfs, "jobscope_slurm_poll_supported", "resource") {
		if supported == 1 && success[res] != 1 {
			failed = append(failed, res)
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("jobscope_slurm_poll_success is not 1 for %s", strings.Join(failed, ", "))
	}
	return nil
}

// sharesServed says whether fairshare series are to be compared: the REST API of Slurm
// 22.05 has no shares endpoint, so jobscope reports it unsupported there.
func sharesServed(mfs map[string]*dto.MetricFamily, required bool) (bool, error) {
	supported := series(mfs, "jobscope_slurm_poll_supported", "resource")[`{resource="shares"}`] == 1
	if required && !supported {
		return false, errors.New(`jobscope_slurm_poll_supported{resource="shares"} is not 1 but this source has sshare`)
	}
	return supported, nil
}

// sanity makes sure the workload of test/slurmlocal/workload.sh is there, so that the
// comparison cannot pass on an empty cluster.
func sanity(tr *truth) error {
	if len(tr.Nodes) != 4 {
		return fmt.Errorf("want 4 nodes, Slurm has %d", len(tr.Nodes))
	}
	reasons := map[string]bool{}
	running, gpus := 0, 0
	for _, j := range tr.Jobs {
		switch j.State {
		case "pending":
			reasons[j.Reason] = true
		case "running":
			running++
			for _, a := range j.Alloc {
				gpus += len(a.GPUIdx)
			}
		}
	}
	for _, r := range []string{"Resources", "Priority", "JobHeldUser", "Dependency", "JobArrayTaskLimit"} {
		if !reasons[r] {
			return fmt.Errorf("no pending job with reason %s: is the workload (test/slurmlocal/workload.sh) there?", r)
		}
	}
	if running < 8 || gpus != 5 {
		return fmt.Errorf("want >= 8 running jobs holding 5 GPUs, Slurm has %d holding %d", running, gpus)
	}
	if tr.Nodes["node4"] == nil || tr.Nodes["node4"].Reason == "" {
		return errors.New("node4 is not drained with a reason")
	}
	// both sides of sinfo's drain: node4 drained while idle, node2 while it runs jobs
	if n := tr.Nodes["node4"]; sinfoWord(n.Sinfo) != "drained" {
		return fmt.Errorf("node4: sinfo says %q, want drained", n.Sinfo)
	}
	if n := tr.Nodes["node2"]; n == nil || sinfoWord(n.Sinfo) != "draining" {
		return errors.New("node2 is not draining (drained while it runs mn-root)")
	}
	return nil
}

// want is one family as Slurm says it must be.
type want struct {
	name   string
	labels []string
	series map[string]float64
	// zerosOK: series absent here may be exported with value 0 (counts by state or reason)
	zerosOK bool
	keep    func(map[string]string) bool
	tol     float64
}

func (w *want) set(v float64, values ...string) {
	l := map[string]string{}
	for i, n := range w.labels {
		l[n] = values[i]
	}
	w.series[key(l, w.labels...)] += v
}

func family(name string, labels ...string) *want {
	return &want{name: name, labels: labels, series: map[string]float64{}}
}

const mib = 1 << 20

func expectations(tr *truth, shares bool) []*want {
	up := family("jobscope_slurm_up")
	up.set(1)

	nodes := family("jobscope_slurm_nodes", "state")
	nodes.zerosOK = true
	state := family("jobscope_slurm_node_state", "node", "state")
	flag := family("jobscope_slurm_node_state_flag", "node", "flag")
	reason := family("jobscope_slurm_node_reason_info", "node", "reason")
	cpus := family("jobscope_slurm_node_cpus", "node")
	cpusAlloc := family("jobscope_slurm_node_cpus_allocated", "node")
	mem := family("jobscope_slurm_node_memory_bytes", "node")
	memAlloc := family("jobscope_slurm_node_memory_allocated_bytes", "node")
	gpus := family("jobscope_slurm_node_gpus", "node", "type")
	gpus.zerosOK = true
	gpusAlloc := family("jobscope_slurm_node_gpus_allocated", "node", "type")
	gpusAlloc.zerosOK = true
	partGPUs := family("jobscope_slurm_partition_gpus", "partition")
	partGPUs.zerosOK = true
	partCPUs := family("jobscope_slurm_partition_cpus", "partition")
	sinfo := family("jobscope_slurm_nodes_sinfo_state", "state")
	sinfo.zerosOK = true
	notResponding := family("jobscope_slurm_nodes_not_responding")
	notResponding.set(0)
	for _, n := range tr.Nodes {
		nodes.set(1, n.State)
		sinfo.set(1, sinfoWord(n.Sinfo))
		if slices.Contains(n.Flags, "not_responding") {
			notResponding.set(1)
		}
		state.set(1, n.Name, n.State)
		for _, f := range n.Flags {
			flag.set(1, n.Name, f)
		}
		if n.Reason != "" {
			reason.set(1, n.Name, n.Reason)
		}
		cpus.set(float64(n.CPUs), n.Name)
		for _, p := range n.Partitions {
			partCPUs.set(float64(n.CPUs), p)
		}
		cpusAlloc.set(float64(n.CPUsAlloc), n.Name)
		mem.set(float64(n.MemMB)*mib, n.Name)
		memAlloc.set(float64(n.MemAllocMB)*mib, n.Name)
		for typ, c := range n.GPUs {
			gpus.set(float64(c), n.Name, typ)
			gpusAlloc.set(float64(n.GPUsUsed[typ]), n.Name, typ)
			for _, p := range n.Partitions {
				partGPUs.set(float64(c), p)
			}
		}
	}

	jobs := family("jobscope_slurm_jobs", "partition", "state")
	jobs.zerosOK = true
	pending := family("jobscope_slurm_jobs_pending", "partition", "reason")
	pending.zerosOK = true
	info := family("jobscope_slurm_job_info", "job_id", "name", "user", "account", "partition", "qos", "state", "array_job_id", "array_task_id")
	arrayTasks := family("jobscope_slurm_jobs_pending_array_tasks", "partition")
	arrayTasks.zerosOK = true
	// scontrol prints whole seconds, as Slurm keeps them.
	oldest := family("jobscope_slurm_jobs_pending_oldest_submit_timestamp_seconds", "partition")
	oldestAt := map[string]time.Time{}
	jobCPUs := family("jobscope_slurm_job_cpus", "job_id")
	jobGPUs := family("jobscope_slurm_job_gpus", "job_id")
	nodeCPUs := family("jobscope_slurm_job_node_cpus", "job_id", "node")
	nodeGPUs := family("jobscope_slurm_job_node_gpus", "job_id", "node", "type")
	gpuAlloc := family("jobscope_slurm_job_gpu_allocated", "job_id", "node", "gres_index", "type")
	for _, j := range tr.Jobs {
		jobs.set(1, j.Partition, j.State)
		if j.State == "pending" {
			pending.set(1, j.Partition, j.Reason)
			if _, err := strconv.Atoi(j.ArrayTaskID); err != nil && j.ArrayTaskID != "" {
				// a pending array record: "2-9%2" holds tasks 2..9
				spec, _, _ := strings.Cut(j.ArrayTaskID, "%")
				arrayTasks.set(float64(len(expandInts(spec))), j.Partition)
			}
			if t, ok := oldestAt[j.Partition]; !j.SubmitTime.IsZero() && (!ok || j.SubmitTime.Before(t)) {
				oldestAt[j.Partition] = j.SubmitTime
			}
		}
		if j.State != "running" {
			continue
		}
		arrayJob, arrayTask := "", ""
		if _, err := strconv.Atoi(j.ArrayTaskID); err == nil {
			arrayJob, arrayTask = j.ArrayJobID, j.ArrayTaskID
		}
		info.set(1, j.ID, j.Name, j.User, j.Account, j.Partition, j.QOS, j.State, arrayJob, arrayTask)
		jobCPUs.set(float64(j.CPUs), j.ID)
		jobGPUs.set(0, j.ID)
		for _, a := range j.Alloc {
			nodeCPUs.set(float64(a.CPUs), j.ID, a.Node)
			jobGPUs.set(float64(len(a.GPUIdx)), j.ID)
			if len(a.GPUIdx) > 0 {
				nodeGPUs.set(float64(len(a.GPUIdx)), j.ID, a.Node, a.GPUType)
			}
			for _, idx := range a.GPUIdx {
				gpuAlloc.set(1, j.ID, a.Node, strconv.Itoa(idx), a.GPUType)
			}
		}
	}

	for p, t := range oldestAt {
		oldest.set(float64(t.Unix()), p)
	}
	all := []*want{up, nodes, sinfo, notResponding, state, flag, reason, cpus, cpusAlloc, mem, memAlloc, gpus, gpusAlloc, partGPUs, partCPUs,
		jobs, pending, arrayTasks, oldest, info, jobCPUs, jobGPUs, nodeCPUs, nodeGPUs, gpuAlloc}
	if shares {
		fs := family("jobscope_slurm_fairshare_factor", "account", "user")
		fs.keep = func(l map[string]string) bool { return l["user"] != "" } // sshare has no factor on account rows
		fs.tol = 5e-6                                                       // sshare prints 6 decimals
		for _, s := range tr.Shares {
			fs.set(s.FairShare, s.Account, s.User)
		}
		all = append(all, fs)
	}
	return all
}

// sinfoWord is sinfo's %T without the one-character suffix it may append ("idle*",
// "drained~", "allocated+").
func sinfoWord(s string) string {
	return strings.TrimRight(s, "*~#!%$@^-+")
}

// compare lists every series that is missing, extra or different.
func compare(mfs map[string]*dto.MetricFamily, wants []*want) error {
	var diffs []string
	for _, w := range wants {
		got := seriesWhere(mfs, w.name, w.keep, w.labels...)
		for k, v := range w.series {
			g, ok := got[k]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("missing %s%s (Slurm: %v)", w.name, k, v))
			case math.Abs(g-v) > w.tol:
				diffs = append(diffs, fmt.Sprintf("%s%s = %v, Slurm says %v", w.name, k, g, v))
			}
		}
		for k, g := range got {
			if _, ok := w.series[k]; !ok && !(w.zerosOK && g == 0) {
				diffs = append(diffs, fmt.Sprintf("extra %s%s = %v (not in Slurm)", w.name, k, g))
			}
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return errors.New(strings.Join(diffs, "\n"))
}
