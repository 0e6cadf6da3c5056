package slurm

import (
	"time"

	"jobscope/collectors"
	"jobscope/slurm"
)

// jobTotals is what the jobs, users and accounts collectors count per group
// and state.
type jobTotals struct {
	jobs, cpus, gpus float64
	memory           float64
}

// groupedJobsCollector counts jobs, CPUs, GPUs and memory per (group, state)
// where the group is the partition, the user or the account. One
// implementation for the three families, so they cannot drift apart.
type groupedJobsCollector struct {
	group  func(*slurm.Job) string
	jobs   *collectors.FamilyDesc
	cpus   *collectors.FamilyDesc
	gpus   *collectors.FamilyDesc
	memory *collectors.FamilyDesc
	extra  func(b *collectors.FamilyBuilder, snap *slurm.Snapshot)
}

func newGroupedJobsCollector(subsystem, label, what string, group func(*slurm.Job) string) *groupedJobsCollector {
	return &groupedJobsCollector{
		group: group,
		jobs: desc(subsystem, "jobs",
			"Number of jobs by "+what+" and state (pending, running, completed, ...).", label, "state"),
		cpus: desc(subsystem, "jobs_cpus",
			"CPUs of jobs by "+what+" and state: allocated when running, requested when pending.", label, "state"),
		gpus: desc(subsystem, "jobs_gpus",
			"GPUs of jobs by "+what+" and state: allocated when running, requested when pending.", label, "state"),
		memory: desc(subsystem, "jobs_memory_bytes",
			"Memory of jobs by "+what+" and state: allocated when running, requested when pending.", label, "state"),
	}
}

func (c *groupedJobsCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourceJobs) {
		return errStale(ResourceJobs)
	}
	type key struct{ group, state string }
	totals := map[key]*jobTotals{}
	var order []key
	// The label value of each state, lowered once: strings.ToLower per
	// job was one allocation per job (100k at 100k jobs).
	states := map[string]string{}
	for i := range snap.Jobs {
		j := &snap.Jobs[i]
		state, ok := states[j.State]
		if !ok {
			state = lower(j.State)
			states[j.State] = state
		}
		k := key{c.group(j), state}
		t, ok := totals[k]
		if !ok {
			t = &jobTotals{}
			totals[k] = t
			order = append(order, k)
		}
		t.jobs++
		t.cpus += float64(j.CPUs)
		t.gpus += float64(j.GPUs)
		t.memory += float64(j.MemoryBytes)
	}
	sortKeys(order, func(k key) string { return k.group + "\x00" + k.state })

	for _, k := range order {
		t := totals[k]
		b.Add(c.jobs, t.jobs, k.group, k.state)
		b.Add(c.cpus, t.cpus, k.group, k.state)
		b.Add(c.gpus, t.gpus, k.group, k.state)
		b.Add(c.memory, t.memory, k.group, k.state)
	}
	if c.extra != nil {
		c.extra(b, snap)
	}
	return nil
}

func newJobsCollector(d Deps) (collectors.Collector, error) {
	c := newGroupedJobsCollector("", "partition", "partition",
		func(j *slurm.Job) string { return j.Partition })
	pending := desc("", "jobs_pending",
		"Pending jobs by partition and the reason they wait (Resources, Priority, Dependency, ...).", "partition", "reason")
	pendingArrays := desc("", "jobs_pending_array_tasks",
		"Array tasks not yet split off their pending array record, by partition (each counts as one job in jobscope_slurm_jobs).", "partition")
	// A job pending in several partitions is listed once, under all of
	// them ("a,b"), and counted so, like the pending counts above.
	oldest := desc("", "jobs_pending_oldest_submit_timestamp_seconds",
		"Submit time of the oldest pending job by partition, as a Unix time (its age: time() minus this); absent when none is pending.", "partition")
	wait := newQueueWait()
	c.extra = func(b *collectors.FamilyBuilder, snap *slurm.Snapshot) {
		jobs := snap.Jobs
		type key struct{ partition, reason string }
		counts := map[key]float64{}
		tasks := map[string]float64{}
		submitted := map[string]time.Time{}
		var order []key
		for i := range jobs {
			j := &jobs[i]
			if j.State != "PENDING" {
				continue
			}
			if t, ok := submitted[j.Partition]; !j.SubmitTime.IsZero() && (!ok || j.SubmitTime.Before(t)) {
				submitted[j.Partition] = j.SubmitTime
			}
			k := key{j.Partition, j.Reason}
			if _, ok := counts[k]; !ok {
				order = append(order, k)
			}
			counts[k]++
			if j.ArrayTaskString != "" {
				tasks[j.Partition] += float64(slurm.CountArrayTasks(j.ArrayTaskString))
			}
		}
		sortKeys(order, func(k key) string { return k.partition + "\x00" + k.reason })
		for _, k := range order {
			b.Add(pending, counts[k], k.partition, k.reason)
		}
		for _, p := range sortedKeys(tasks) {
			b.Add(pendingArrays, tasks[p], p)
		}
		for _, p := range sortedKeys(submitted) {
			b.Add(oldest, unixSeconds(submitted[p]), p)
		}
		wait.observe(b, snap)
	}
	return newSnapshotCollector(d, c.build, ResourceJobs), nil
}

func newUsersCollector(d Deps) (collectors.Collector, error) {
	c := newGroupedJobsCollector("user", "user", "user",
		func(j *slurm.Job) string { return j.User })
	return newSnapshotCollector(d, c.build, ResourceJobs), nil
}

func newAccountsCollector(d Deps) (collectors.Collector, error) {
	c := newGroupedJobsCollector("account", "account", "account",
		func(j *slurm.Job) string { return j.Account })
	return newSnapshotCollector(d, c.build, ResourceJobs), nil
}
