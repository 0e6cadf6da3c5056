package loadgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// WriteNodes writes a /slurm/v0.0.44/nodes response with cfg.Nodes GPU nodes
// (gres gpu:h100:N, gres_used with IDX), a few drained or down.
func WriteNodes(out io.Writer, cfg Config) error {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x40de))
	x := newW(out)
	x.raw(`{"nodes":[`)
	cpus := cfg.Sockets * cfg.CoresPerSocket
	for i := 0; i < cfg.Nodes; i++ {
		if i > 0 {
			x.raw(",")
		}
		used := rng.IntN(cfg.GPUsPerNode + 1)
		state, reason := `"MIXED"`, ""
		switch {
		case used == 0:
			state = `"IDLE"`
		case used == cfg.GPUsPerNode:
			state = `"ALLOCATED"`
		}
		switch r := rng.IntN(100); {
		case r < 2:
			state, reason, used = `"IDLE","DRAIN"`, "hardware: GPU XID 79", 0
		case r < 3:
			state, reason, used = `"DOWN","NOT_RESPONDING"`, "Not responding", 0
		}
		gresUsed := fmt.Sprintf("gpu:h100:%d(IDX:N/A)", used)
		if used > 0 {
			gresUsed = fmt.Sprintf("gpu:h100:%d(IDX:0-%d)", used, used-1)
		}
		allocCPUs := used * 8
		if allocCPUs > cpus {
			allocCPUs = cpus
		}
		name := nodeName(i)
		x.raw(`{"architecture":"x86_64","burstbuffer_network_address":"","boards":1`)
		x.noVal(false, "boot_time", base-864000, true)
		x.raw(`,"cert_flags":[],"cluster_name":"loadgen","cores":` + strconv.Itoa(cfg.CoresPerSocket) + `,"specialized_cores":0,"cpu_binding":0`)
		x.int(false, "cpu_load", int64(allocCPUs*100+rng.IntN(100)))
		x.noVal(false, "free_mem", 2000000-int64(used)*65536, true)
		x.int(false, "cpus", int64(cpus))
		x.int(false, "effective_cpus", int64(cpus))
		x.raw(`,"specialized_cpus":"","energy":{"average_watts":0,"base_consumed_energy":0,"consumed_energy":0,"current_watts":{"set":true,"infinite":false,"number":0},"previous_consumed_energy":0,"last_collected":0},"external_sensors":{},"extra":"","power":{},"features":["h100","ib"],"active_features":["h100","ib"],"gpu_spec":""`)
		x.str(false, "gres", fmt.Sprintf("gpu:h100:%d(S:0-%d)", cfg.GPUsPerNode, cfg.Sockets-1))
		x.str(false, "gres_drained", "N/A")
		x.str(false, "gres_used", gresUsed)
		x.str(false, "instance_id", "")
		x.str(false, "instance_type", "")
		x.noVal(false, "last_busy", base-int64(rng.IntN(3600)), true)
		x.raw(`,"mcs_label":"","specialized_memory":0`)
		x.str(false, "name", name)
		x.raw(`,"next_state_after_reboot":["INVALID"]`)
		x.str(false, "address", name)
		x.str(false, "hostname", name)
		x.raw(`,"state":[` + state + `]`)
		x.raw(`,"operating_system":"Linux 6.8.0-45-generic #45-Ubuntu SMP","owner":"","partitions":["gpu","gpu-long"],"port":6818`)
		x.int(false, "real_memory", 2000000)
		x.int(false, "res_cores_per_gpu", 0)
		x.str(false, "comment", "")
		x.str(false, "reason", reason)
		x.noVal(false, "reason_changed_at", 0, true)
		x.str(false, "reason_set_by_user", "")
		x.noVal(false, "resume_after", 0, true)
		x.str(false, "reservation", "")
		x.int(false, "alloc_memory", int64(used)*65536)
		x.int(false, "alloc_cpus", int64(allocCPUs))
		x.int(false, "alloc_idle_cpus", int64(cpus-allocCPUs))
		x.str(false, "tres_used", fmt.Sprintf("cpu=%d,mem=%dM,gres/gpu=%d,gres/gpu:h100=%d", allocCPUs, used*65536, used, used))
		x.raw(`,"tres_weighted":0`)
		x.noVal(false, "slurmd_start_time", base-864000, true)
		x.raw(`,"sockets":` + strconv.Itoa(cfg.Sockets) + `,"threads":1,"temporary_disk":0,"weight":1,"tls_cert_last_renewal":{"set":false,"infinite":false,"number":0},"topology":""`)
		x.str(false, "tres", fmt.Sprintf("cpu=%d,mem=2000000M,billing=%d,gres/gpu=%d,gres/gpu:h100=%d", cpus, cpus, cfg.GPUsPerNode, cfg.GPUsPerNode))
		x.raw(`,"version":"25.05.1"}`)
		x.flushIfBig()
	}
	x.raw(`],"last_update":{"set":true,"infinite":false,"number":` + strconv.Itoa(base) + `},`)
	x.meta()
	x.raw("}\n")
	return x.done()
}

// WritePartitions writes a /slurm/v0.0.44/partitions response for the
// partitions the jobs use, all spanning every node.
func WritePartitions(out io.Writer, cfg Config) error {
	cfg = cfg.withDefaults()
	x := newW(out)
	x.raw(`{"partitions":[`)
	list := fmt.Sprintf("gpu-[%05d-%05d]", 1, cfg.Nodes)
	cpus := cfg.Nodes * cfg.Sockets * cfg.CoresPerSocket
	for i, p := range partitions {
		if i > 0 {
			x.raw(",")
		}
		maxTime := `{"set":true,"infinite":false,"number":1440}`
		if p == "gpu-long" {
			maxTime = `{"set":false,"infinite":true,"number":0}`
		}
		x.raw(fmt.Sprintf(`{"nodes":{"allowed_allocation":"","configured":%q,"total":%d},"accounts":{"allowed":"","deny":""},"groups":{"allowed":""},"qos":{"allowed":"","deny":"","assigned":""},"alternate":"","tres":{"billing_weights":"","configured":"cpu=%d,mem=%dM,node=%d,billing=%d,gres/gpu=%d"},"cluster":"loadgen","select_type":["CORE","MEMORY"],"cpus":{"task_binding":0,"total":%d},"defaults":{"memory_per_cpu":0,"partition_memory_per_cpu":{"set":false,"infinite":false,"number":0},"partition_memory_per_node":{"set":false,"infinite":false,"number":0},"time":{"set":false,"infinite":false,"number":0},"job":""},"grace_time":0,"maximums":{"cpus_per_node":{"set":false,"infinite":true,"number":0},"cpus_per_socket":{"set":false,"infinite":true,"number":0},"memory_per_cpu":0,"partition_memory_per_cpu":{"set":false,"infinite":false,"number":0},"partition_memory_per_node":{"set":false,"infinite":false,"number":0},"nodes":{"set":false,"infinite":true,"number":0},"shares":1,"oversubscribe":{"jobs":1,"flags":[]},"time":%s,"over_time_limit":{"set":false,"infinite":false,"number":0}},"minimums":{"nodes":1},"name":%q,"node_sets":"","priority":{"job_factor":1,"tier":1},"timeouts":{"resume":{"set":false,"infinite":false,"number":0},"suspend":{"set":false,"infinite":false,"number":0}},"topology":"","partition":{"state":["UP"]},"suspend_time":{"set":false,"infinite":false,"number":0}}`,
			list, cfg.Nodes, cpus, int64(cfg.Nodes)*2000000, cfg.Nodes, cpus, cfg.Nodes*cfg.GPUsPerNode, cpus, maxTime, p))
	}
	x.raw(`],"last_update":{"set":true,"infinite":false,"number":` + strconv.Itoa(base) + `},`)
	x.meta()
	x.raw("}\n")
	return x.done()
}

// rpcTypes are a few real slurmctld message types for the diag RPC tables.
var rpcTypes = []struct {
	name string
	id   int
}{
	{"REQUEST_JOB_INFO", 2003}, {"REQUEST_NODE_INFO", 2007}, {"REQUEST_PARTITION_INFO", 2009},
	{"REQUEST_SUBMIT_BATCH_JOB", 4003}, {"REQUEST_STATS_INFO", 2035}, {"MESSAGE_NODE_REGISTRATION_STATUS", 1002},
}

// WriteDiag writes a /slurm/v0.0.44/diag response.
func WriteDiag(out io.Writer, cfg Config) error {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd1a6))
	x := newW(out)
	x.raw(fmt.Sprintf(`{"statistics":{"parts_packed":1,"req_time":{"set":true,"infinite":false,"number":%d},"req_time_start":{"set":true,"infinite":false,"number":%d},"server_thread_count":%d,"agent_queue_size":0,"agent_count":0,"agent_thread_count":0,"dbd_agent_queue_size":0,"gettimeofday_latency":21,"schedule_cycle_max":%d,"schedule_cycle_last":%d,"schedule_cycle_sum":%d,"schedule_cycle_total":%d,"schedule_cycle_mean":%d,"schedule_cycle_mean_depth":%d,"schedule_cycle_per_minute":2,"schedule_cycle_depth":%d,"schedule_exit":{"end_job_queue":100,"default_queue_depth":3,"max_job_start":0,"max_rpc_cnt":0,"max_sched_time":1,"licenses":0},"schedule_queue_length":%d,"jobs_submitted":%d,"jobs_started":%d,"jobs_completed":%d,"jobs_canceled":%d,"jobs_failed":%d,"jobs_pending":%d,"jobs_running":%d,"job_states_ts":{"set":true,"infinite":false,"number":%d},"bf_backfilled_jobs":%d,"bf_last_backfilled_jobs":12,"bf_backfilled_het_jobs":0,"bf_cycle_counter":%d,"bf_cycle_mean":%d,"bf_depth_mean":%d,"bf_depth_mean_try":%d,"bf_cycle_sum":%d,"bf_cycle_last":%d,"bf_cycle_max":%d,"bf_exit":{"end_job_queue":10,"bf_max_job_start":0,"bf_max_job_test":0,"bf_max_time":0,"bf_node_space_size":0,"state_changed":0},"bf_last_depth":%d,"bf_last_depth_try":%d,"bf_depth_sum":0,"bf_depth_try_sum":0,"bf_queue_len":%d,"bf_queue_len_mean":0,"bf_queue_len_sum":0,"bf_table_size":1,"bf_table_size_sum":0,"bf_table_size_mean":0,"bf_when_last_cycle":{"set":true,"infinite":false,"number":%d},"bf_active":false,"rpcs_by_message_type":[`,
		base, base-86400, 3+rng.IntN(10), 100000+rng.IntN(900000), 1000+rng.IntN(9000), 5000000000+rng.IntN(1000000), 2880, 50000+rng.IntN(50000), rng.IntN(200), rng.IntN(200),
		cfg.Jobs/3, cfg.Jobs*2, cfg.Jobs, cfg.Jobs, rng.IntN(100), rng.IntN(50), cfg.Jobs*3/10, cfg.Jobs*7/10, base-10,
		rng.IntN(5000), 1440, 2000000+rng.IntN(1000000), rng.IntN(500), rng.IntN(500), 3000000000+rng.IntN(1000000), 1000000+rng.IntN(1000000), 9000000+rng.IntN(1000000),
		rng.IntN(500), rng.IntN(500), cfg.Jobs*3/10, base-45))
	for i, t := range rpcTypes {
		if i > 0 {
			x.raw(",")
		}
		count := 1000 + rng.IntN(100000)
		x.raw(fmt.Sprintf(`{"type_id":%d,"message_type":%q,"count":%d,"queued":0,"dropped":0,"cycle_last":0,"cycle_max":0,"total_time":%d,"average_time":{"set":true,"infinite":false,"number":%d}}`,
			t.id, t.name, count, count*300, 300))
	}
	x.raw(`],"rpcs_by_user":[`)
	for i, u := range append([]string{"root", "slurm"}, users...) {
		if i > 0 {
			x.raw(",")
		}
		count := 100 + rng.IntN(10000)
		x.raw(fmt.Sprintf(`{"user_id":%d,"user":%q,"count":%d,"total_time":%d,"average_time":{"set":true,"infinite":false,"number":%d}}`, i*1000, u, count, count*250, 250))
	}
	x.raw(`],"pending_rpcs":[],"pending_rpcs_by_hostlist":[]},`)
	x.meta()
	x.raw("}\n")
	return x.done()
}
