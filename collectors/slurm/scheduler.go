package slurm

import (
	"jobscope/collectors"
	"jobscope/slurm"
)

// schedulerCollector maps sdiag. Slurm resets these statistics at midnight
// (and on `sdiag -r`); the *_total ones are counters that Prometheus' rate()
// handles across those resets.
type schedulerCollector struct {
	gauges []schedGauge
	// counters
	jobs         *collectors.FamilyDesc
	cycles       *collectors.FamilyDesc
	bfCycles     *collectors.FamilyDesc
	backfilled   *collectors.FamilyDesc
	rpcCalls     *collectors.FamilyDesc
	rpcTime      *collectors.FamilyDesc
	userRPCCalls *collectors.FamilyDesc
	userRPCTime  *collectors.FamilyDesc
	statsReset   *collectors.FamilyDesc
	bfLastCycle  *collectors.FamilyDesc
}

type schedGauge struct {
	desc  *collectors.FamilyDesc
	value func(*diagView) float64
	// stat is the statistic the gauge shows when some versions lack it:
	// the gauge is left out where Diag.Unreported has it.
	stat slurm.DiagStat
}

// diagView is a local alias so the table below reads as a list of fields.
type diagView = slurm.Diag

func newSchedulerCollector(d Deps) (collectors.Collector, error) {
	g := func(subsystem, name, help string, v func(*diagView) float64, stat ...slurm.DiagStat) schedGauge {
		sg := schedGauge{desc: desc(subsystem, name, help), value: v}
		for _, s := range stat {
			sg.stat |= s
		}
		return sg
	}
	c := &schedulerCollector{
		gauges: []schedGauge{
			g("scheduler", "threads", "slurmctld server threads in use.", func(x *diagView) float64 { return float64(x.ServerThreadCount) }),
			g("scheduler", "agent_queue_size", "Outgoing RPCs queued in slurmctld's agent (high = slurmd unreachable or slow).", func(x *diagView) float64 { return float64(x.AgentQueueSize) }),
			g("scheduler", "agents", "slurmctld agent count.", func(x *diagView) float64 { return float64(x.AgentCount) }),
			g("scheduler", "agent_threads", "slurmctld agent threads.", func(x *diagView) float64 { return float64(x.AgentThreadCount) }),
			g("scheduler", "dbd_agent_queue_size", "Messages queued for slurmdbd (grows when slurmdbd is down).", func(x *diagView) float64 { return float64(x.DBDAgentQueueSize) }),
			g("scheduler", "cycle_last_seconds", "Duration of the last main scheduling cycle.", func(x *diagView) float64 { return x.ScheduleCycleLast.Seconds() }),
			g("scheduler", "cycle_max_seconds", "Longest main scheduling cycle since the statistics were reset.", func(x *diagView) float64 { return x.ScheduleCycleMax.Seconds() }),
			g("scheduler", "cycle_mean_seconds", "Mean main scheduling cycle since the statistics were reset.", func(x *diagView) float64 { return x.ScheduleCycleMean.Seconds() }),
			g("scheduler", "cycle_mean_depth", "Mean number of jobs the main scheduler looked at per cycle.", func(x *diagView) float64 { return float64(x.ScheduleMeanDepth) }),
			g("scheduler", "queue_length", "Jobs the main scheduler had to consider in its last cycle.", func(x *diagView) float64 { return float64(x.ScheduleQueueLength) }),
			g("backfill", "active", "Whether the backfill scheduler is in a cycle right now (1) or not (0).", func(x *diagView) float64 { return b2f(x.BackfillActive) }),
			g("backfill", "cycle_last_seconds", "Duration of the last backfill cycle.", func(x *diagView) float64 { return x.BackfillCycleLast.Seconds() }),
			g("backfill", "cycle_max_seconds", "Longest backfill cycle since the statistics were reset.", func(x *diagView) float64 { return x.BackfillCycleMax.Seconds() }, slurm.DiagBackfillCycleMax),
			g("backfill", "cycle_mean_seconds", "Mean backfill cycle since the statistics were reset.", func(x *diagView) float64 { return x.BackfillCycleMean.Seconds() }),
			g("backfill", "last_depth", "Jobs the last backfill cycle looked at.", func(x *diagView) float64 { return float64(x.BackfillLastDepth) }, slurm.DiagBackfillLastDepth),
			g("backfill", "last_depth_try", "Jobs the last backfill cycle tried to start.", func(x *diagView) float64 { return float64(x.BackfillLastDepthTry) }, slurm.DiagBackfillLastDepthTry),
			g("backfill", "queue_length", "Jobs pending for backfill in the last cycle.", func(x *diagView) float64 { return float64(x.BackfillQueueLength) }),
		},
		jobs: counterDesc("scheduler", "jobs_total",
			"Jobs by event since the statistics were reset (submitted, started, completed, canceled, failed). Note: 'failed' counts jobs failed by Slurm, not jobs that exited non-zero.", "event"),
		cycles: counterDesc("scheduler", "cycles_total",
			"Main scheduling cycles since the statistics were reset."),
		bfCycles: counterDesc("backfill", "cycles_total",
			"Backfill cycles since the statistics were reset."),
		backfilled: counterDesc("backfill", "jobs_total",
			"Jobs started by the backfill scheduler since the statistics were reset (het = heterogeneous job components).", "kind"),
		rpcCalls: counterDesc("rpc", "calls_total",
			"RPCs slurmctld served, by message type.", "type"),
		rpcTime: counterDesc("rpc", "duration_seconds_total",
			"Time slurmctld spent serving RPCs, by message type.", "type"),
		userRPCCalls: counterDesc("rpc", "user_calls_total",
			"RPCs slurmctld served, by user.", "user"),
		userRPCTime: counterDesc("rpc", "user_duration_seconds_total",
			"Time slurmctld spent serving RPCs, by user.", "user"),
		statsReset: desc("scheduler", "stats_reset_timestamp_seconds",
			"When slurmctld last reset these statistics, as a Unix time."),
		bfLastCycle: desc("backfill", "last_cycle_timestamp_seconds",
			"When the last backfill cycle ran, as a Unix time."),
	}
	return newSnapshotCollector(d, c.build, ResourceDiag), nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *schedulerCollector) build(b *collectors.FamilyBuilder, snap *slurm.Snapshot, fresh func(slurm.Resource) bool) error {
	if !fresh(ResourceDiag) || snap.Diag == nil {
		return errStale(ResourceDiag)
	}
	d := snap.Diag
	for _, g := range c.gauges {
		if d.Unreported&g.stat != 0 {
			continue
		}
		b.Add(g.desc, g.value(d))
	}
	for _, ev := range []struct {
		name string
		v    uint64
	}{
		{"submitted", d.JobsSubmitted}, {"started", d.JobsStarted}, {"completed", d.JobsCompleted},
		{"canceled", d.JobsCanceled}, {"failed", d.JobsFailed},
	} {
		b.Add(c.jobs, float64(ev.v), ev.name)
	}
	b.Add(c.cycles, float64(d.ScheduleCycleCount))
	b.Add(c.bfCycles, float64(d.BackfillCycleCount))
	b.Add(c.backfilled, float64(d.BackfilledJobs), "jobs")
	b.Add(c.backfilled, float64(d.BackfilledHetJobs), "het")
	for _, r := range d.RPCsByType {
		b.Add(c.rpcCalls, float64(r.Count), r.Name)
		b.Add(c.rpcTime, r.Total.Seconds(), r.Name)
	}
	for _, r := range d.RPCsByUser {
		b.Add(c.userRPCCalls, float64(r.Count), r.Name)
		b.Add(c.userRPCTime, r.Total.Seconds(), r.Name)
	}
	if !d.Since.IsZero() {
		b.Add(c.statsReset, unixSeconds(d.Since))
	}
	if !d.BackfillLastCycleTime.IsZero() {
		b.Add(c.bfLastCycle, unixSeconds(d.BackfillLastCycleTime))
	}
	return nil
}
