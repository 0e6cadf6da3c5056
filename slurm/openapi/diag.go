package openapi

import (
	"fmt"
	"io"
	"time"

	"jobscope/slurm"
)

// DecodeDiag decodes /slurm/vX/diag and `sdiag --json` (Slurm 23.02+).
// Cycle times are microseconds in every version; v0.0.40+ wraps the
// timestamps in no_val structs.
func DecodeDiag(rd io.Reader) (*slurm.Diag, Meta, error) {
	var d *slurm.Diag
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		if string(name) != "statistics" {
			return r.skip()
		}
		d = &slurm.Diag{}
		return r.stats(d)
	})
	if err != nil {
		return nil, meta, err
	}
	if d == nil {
		return nil, meta, fmt.Errorf("openapi: diag response has no statistics")
	}
	return d, meta, nil
}

func (r *reader) stats(d *slurm.Diag) error {
	var sumSet, bfSumSet bool
	// Statistics some versions do not print: unset bits are reported.
	missing := slurm.DiagBackfillCycleMax | slurm.DiagBackfillLastDepth | slurm.DiagBackfillLastDepthTry
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "bf_cycle_max":
			missing &^= slurm.DiagBackfillCycleMax
		case "bf_last_depth":
			missing &^= slurm.DiagBackfillLastDepth
		case "bf_last_depth_try":
			missing &^= slurm.DiagBackfillLastDepthTry
		}
		// Plain counters first: one table instead of forty cases.
		if p := diagCounter(d, name); p != nil {
			*p, err = r.u64()
			return err
		}
		switch string(name) {
		case "req_time_start":
			d.Since, err = r.unixTime()
		case "schedule_cycle_last":
			d.ScheduleCycleLast, err = r.micros()
		case "schedule_cycle_max":
			d.ScheduleCycleMax, err = r.micros()
		case "schedule_cycle_mean":
			d.ScheduleCycleMean, err = r.micros()
		case "schedule_cycle_sum":
			d.ScheduleCycleSum, err = r.micros()
			sumSet = true
		case "bf_active":
			d.BackfillActive, err = r.boolean()
		case "bf_cycle_last":
			d.BackfillCycleLast, err = r.micros()
		case "bf_cycle_max":
			d.BackfillCycleMax, err = r.micros()
		case "bf_cycle_mean":
			d.BackfillCycleMean, err = r.micros()
		case "bf_cycle_sum":
			d.BackfillCycleSum, err = r.micros()
			bfSumSet = true
		case "bf_when_last_cycle":
			d.BackfillLastCycleTime, err = r.unixTime()
		case "rpcs_by_message_type":
			d.RPCsByType, err = r.rpcStats("message_type")
		case "rpcs_by_user":
			d.RPCsByUser, err = r.rpcStats("user")
		default:
			err = r.skip()
		}
		return err
	})
	d.Unreported = missing
	// Older versions give no sums; mean*count is what sdiag itself uses.
	if !sumSet {
		d.ScheduleCycleSum = d.ScheduleCycleMean * time.Duration(min(d.ScheduleCycleCount, 1<<31))
	}
	if !bfSumSet {
		d.BackfillCycleSum = d.BackfillCycleMean * time.Duration(min(d.BackfillCycleCount, 1<<31))
	}
	return err
}

func diagCounter(d *slurm.Diag, name []byte) *uint64 {
	switch string(name) {
	case "server_thread_count":
		return &d.ServerThreadCount
	case "agent_queue_size":
		return &d.AgentQueueSize
	case "agent_count":
		return &d.AgentCount
	case "agent_thread_count":
		return &d.AgentThreadCount
	case "dbd_agent_queue_size":
		return &d.DBDAgentQueueSize
	case "jobs_submitted":
		return &d.JobsSubmitted
	case "jobs_started":
		return &d.JobsStarted
	case "jobs_completed":
		return &d.JobsCompleted
	case "jobs_canceled":
		return &d.JobsCanceled
	case "jobs_failed":
		return &d.JobsFailed
	case "jobs_pending":
		return &d.JobsPending
	case "jobs_running":
		return &d.JobsRunning
	case "schedule_cycle_total":
		return &d.ScheduleCycleCount
	case "schedule_queue_length":
		return &d.ScheduleQueueLength
	case "schedule_cycle_mean_depth":
		return &d.ScheduleMeanDepth
	case "bf_backfilled_jobs":
		return &d.BackfilledJobs
	case "bf_backfilled_het_jobs":
		return &d.BackfilledHetJobs
	case "bf_cycle_counter":
		return &d.BackfillCycleCount
	case "bf_last_depth":
		return &d.BackfillLastDepth
	case "bf_last_depth_try":
		return &d.BackfillLastDepthTry
	case "bf_queue_len":
		return &d.BackfillQueueLength
	}
	return nil
}

// rpcStats reads rpcs_by_message_type or rpcs_by_user; total_time is in
// microseconds.
func (r *reader) rpcStats(nameField string) ([]slurm.RPCStat, error) {
	var out []slurm.RPCStat
	err := r.array(func() error {
		var s slurm.RPCStat
		err := r.object(func(name []byte) error {
			var err error
			switch string(name) {
			case nameField:
				s.Name, err = r.str()
			case "count":
				s.Count, err = r.u64()
			case "total_time":
				s.Total, err = r.micros()
			default:
				err = r.skip()
			}
			return err
		})
		if err == nil {
			out = append(out, s)
		}
		return err
	})
	return out, err
}
