package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// Config sizes the generated cluster.
type Config struct {
	// Seed makes the output reproducible.
	Seed uint64
	// Nodes in the cluster, named gpu-00001... Default 16.
	Nodes int
	// Jobs in the queue. Default 100.
	Jobs int
	// GPUsPerNode is the number of H100s per node. Default 8.
	GPUsPerNode int
	// Sockets and CoresPerSocket shape job_resources. Defaults 2 and 32.
	Sockets        int
	CoresPerSocket int
	// PendingRatio and ArrayRatio (0..1) are the shares of pending jobs and of
	// jobs that are array elements. Defaults 0.3 and 0.1.
	PendingRatio float64
	ArrayRatio   float64
}

func (c Config) withDefaults() Config {
	if c.Nodes <= 0 {
		c.Nodes = 16
	}
	if c.Jobs < 0 {
		c.Jobs = 0
	} else if c.Jobs == 0 {
		c.Jobs = 100
	}
	if c.GPUsPerNode <= 0 {
		c.GPUsPerNode = 8
	}
	if c.Sockets <= 0 {
		c.Sockets = 2
	}
	if c.CoresPerSocket <= 0 {
		c.CoresPerSocket = 32
	}
	if c.PendingRatio == 0 {
		c.PendingRatio = 0.3
	}
	if c.ArrayRatio == 0 {
		c.ArrayRatio = 0.1
	}
	return c
}

// base is the fixed "now" of generated payloads, so output never depends on
// the clock.
const base = 1767225600 // 2026-01-01T00:00:00Z

// w is a small append-based JSON writer; it keeps the first error.
type w struct {
	bw  *bufio.Writer
	buf []byte
	err error
}

func newW(out io.Writer) *w { return &w{bw: bufio.NewWriterSize(out, 1<<16)} }

func (x *w) raw(s string) { x.buf = append(x.buf, s...); x.flushIfBig() }

func (x *w) flushIfBig() {
	if len(x.buf) >= 1<<15 {
		x.flush()
	}
}

func (x *w) flush() {
	if x.err == nil {
		_, x.err = x.bw.Write(x.buf)
	}
	x.buf = x.buf[:0]
}

func (x *w) done() error {
	x.flush()
	if x.err != nil {
		return x.err
	}
	return x.bw.Flush()
}

// key writes ,"name": (leading comma unless first).
func (x *w) key(first bool, name string) {
	if !first {
		x.buf = append(x.buf, ',')
	}
	x.buf = strconv.AppendQuote(x.buf, name)
	x.buf = append(x.buf, ':')
}

func (x *w) str(first bool, name, v string) {
	x.key(first, name)
	x.buf = strconv.AppendQuote(x.buf, v)
}

func (x *w) int(first bool, name string, v int64) {
	x.key(first, name)
	x.buf = strconv.AppendInt(x.buf, v, 10)
}

// noVal writes a v0.0.44 {set,infinite,number} number.
func (x *w) noVal(first bool, name string, v int64, set bool) {
	x.key(first, name)
	x.buf = append(x.buf, `{"set":`...)
	x.buf = strconv.AppendBool(x.buf, set)
	x.buf = append(x.buf, `,"infinite":false,"number":`...)
	x.buf = strconv.AppendInt(x.buf, v, 10)
	x.buf = append(x.buf, '}')
}

func (x *w) meta() {
	x.raw(`"meta":{"plugin":{"type":"openapi/slurmctld","name":"Slurm OpenAPI slurmctld","data_parser":"data_parser/v0.0.44","accounting_storage":"accounting_storage/slurmdbd"},"client":{"source":"[loadgen]:0","user":"slurm","group":"slurm"},"command":[],"slurm":{"version":{"major":"25","micro":"1","minor":"05"},"release":"25.05.1","cluster":"loadgen"}},"errors":[],"warnings":[]`)
}

func nodeName(i int) string { return fmt.Sprintf("gpu-%05d", i+1) }

// hostlist writes nodes as slurmctld does: a bracketed range when they are
// consecutive ("gpu-[00001-00003]"), else a comma list.
func hostlist(nodes []int) string {
	switch {
	case len(nodes) == 0:
		return ""
	case len(nodes) == 1:
		return nodeName(nodes[0])
	}
	for k := 1; k < len(nodes); k++ {
		if nodes[k] != nodes[k-1]+1 {
			s := nodeName(nodes[0])
			for _, n := range nodes[1:] {
				s += "," + nodeName(n)
			}
			return s
		}
	}
	return fmt.Sprintf("gpu-[%05d-%05d]", nodes[0]+1, nodes[len(nodes)-1]+1)
}

var (
	users      = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	accounts   = []string{"physics", "chemistry", "biology", "ml-research"}
	partitions = []string{"gpu", "gpu-long", "debug"}
)

// WriteJobs writes a /slurm/v0.0.44/jobs response with cfg.Jobs jobs.
func WriteJobs(out io.Writer, cfg Config) error {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x10b5))
	x := newW(out)
	x.raw(`{"jobs":[`)
	nextNode := 0
	for i := 0; i < cfg.Jobs; i++ {
		if i > 0 {
			x.raw(",")
		}
		id := int64(1000 + i)
		pending := rng.Float64() < cfg.PendingRatio
		array := rng.Float64() < cfg.ArrayRatio
		nnodes := 1
		if r := rng.IntN(10); r >= 8 {
			nnodes = 2 + rng.IntN(3) // a few multi-node jobs: 2-4 nodes
		}
		if nnodes > cfg.Nodes {
			nnodes = cfg.Nodes
		}
		gpus := 1 << rng.IntN(4) // 1, 2, 4, 8 per node
		if gpus > cfg.GPUsPerNode {
			gpus = cfg.GPUsPerNode
		}
		cpusPerNode := gpus * 8
		if total := cfg.Sockets * cfg.CoresPerSocket; cpusPerNode > total {
			cpusPerNode = total
		}
		memPerNode := int64(gpus) * 65536
		user := rng.IntN(len(users))
		var nodes []int
		if !pending {
			for k := 0; k < nnodes; k++ {
				nodes = append(nodes, (nextNode+k)%cfg.Nodes)
			}
			nextNode = (nextNode + nnodes) % cfg.Nodes
		}
		writeJob(x, cfg, rng, job{
			id: id, pending: pending, array: array, nnodes: nnodes, nodes: nodes,
			gpus: gpus, cpusPerNode: cpusPerNode, memPerNode: memPerNode,
			user: user, account: accounts[user%len(accounts)], partition: partitions[rng.IntN(len(partitions))],
		})
		x.flushIfBig()
	}
	x.raw(`],"last_backfill":`)
	x.raw(fmt.Sprintf(`{"set":true,"infinite":false,"number":%d}`, base-30))
	x.raw(`,"last_update":`)
	x.raw(fmt.Sprintf(`{"set":true,"infinite":false,"number":%d}`, base))
	x.raw(",")
	x.meta()
	x.raw("}\n")
	return x.done()
}

type job struct {
	id                 int64
	pending, array     bool
	nnodes             int
	nodes              []int
	gpus, cpusPerNode  int
	memPerNode         int64
	user               int
	account, partition string
}

func writeJob(x *w, cfg Config, rng *rand.Rand, j job) {
	submit := int64(base - 3600 - rng.IntN(86400))
	start, end := int64(0), int64(0)
	state, reason := "PENDING", "Priority"
	if !j.pending {
		start = submit + int64(rng.IntN(3000))
		end = start + 86400
		state, reason = "RUNNING", "None"
	}
	hosts := hostlist(j.nodes)
	totalCPUs := j.cpusPerNode * j.nnodes
	totalGPUs := j.gpus * j.nnodes
	tres := fmt.Sprintf("cpu=%d,mem=%dM,node=%d,billing=%d,gres/gpu=%d,gres/gpu:h100=%d",
		totalCPUs, j.memPerNode*int64(j.nnodes), j.nnodes, totalCPUs, totalGPUs, totalGPUs)

	x.raw("{")
	x.str(true, "account", j.account)
	x.noVal(false, "accrue_time", submit, true)
	x.str(false, "admin_comment", "")
	x.str(false, "allocating_node", "login-0")
	if j.array {
		x.noVal(false, "array_job_id", j.id-int64(rng.IntN(4)), true)
		x.noVal(false, "array_task_id", int64(rng.IntN(64)), true)
	} else {
		x.noVal(false, "array_job_id", 0, true)
		x.noVal(false, "array_task_id", 0, false)
	}
	x.noVal(false, "array_max_tasks", 0, true)
	x.str(false, "array_task_string", "")
	x.int(false, "association_id", int64(10+j.user))
	x.raw(`,"batch_features":"","batch_flag":true`)
	if len(j.nodes) > 0 {
		x.str(false, "batch_host", nodeName(j.nodes[0]))
	} else {
		x.str(false, "batch_host", "")
	}
	x.raw(`,"flags":["EXACT_TASK_COUNT_REQUESTED","USING_DEFAULT_QOS","USING_DEFAULT_WCKEY","PARTITION_ASSIGNED"],"burst_buffer":"","burst_buffer_state":"","cluster":"loadgen","cluster_features":"","command":"/home/user/train.sh","comment":"","container":"","container_id":"","contiguous":false,"core_spec":0,"thread_spec":32766`)
	x.noVal(false, "cores_per_socket", 0, false)
	x.noVal(false, "billable_tres", int64(totalCPUs), true)
	x.noVal(false, "cpus_per_task", 8, true)
	x.raw(`,"cpu_frequency_minimum":{"set":false,"infinite":false,"number":0},"cpu_frequency_maximum":{"set":false,"infinite":false,"number":0},"cpu_frequency_governor":{"set":false,"infinite":false,"number":0},"cpus_per_tres":"gres/gpu:8","cron":"","deadline":{"set":true,"infinite":false,"number":0},"delay_boot":{"set":true,"infinite":false,"number":0},"dependency":""`)
	x.raw(`,"derived_exit_code":{"status":["SUCCESS"],"return_code":{"set":true,"infinite":false,"number":0},"signal":{"id":{"set":false,"infinite":false,"number":0},"name":""}}`)
	x.noVal(false, "eligible_time", submit, true)
	x.noVal(false, "end_time", end, true)
	x.raw(`,"excluded_nodes":"","exit_code":{"status":["PENDING"],"return_code":{"set":false,"infinite":false,"number":0},"signal":{"id":{"set":false,"infinite":false,"number":0},"name":""}},"extra":"","failed_node":"","features":"","federation_origin":"","federation_siblings_active":"","federation_siblings_viable":""`)
	x.key(false, "gres_detail")
	x.raw("[")
	for k := range j.nodes {
		if k > 0 {
			x.raw(",")
		}
		x.raw(fmt.Sprintf(`"gpu:h100:%d(IDX:0-%d)"`, j.gpus, j.gpus-1))
	}
	x.raw("]")
	x.int(false, "group_id", int64(2000+j.user))
	x.str(false, "group_name", users[j.user])
	x.raw(`,"het_job_id":{"set":true,"infinite":false,"number":0},"het_job_id_set":"","het_job_offset":{"set":true,"infinite":false,"number":0}`)
	x.int(false, "job_id", j.id)
	x.key(false, "job_resources")
	if j.pending {
		x.raw(`{"select_type":[],"nodes":{"count":0,"select_type":[],"list":"","whole":false,"allocation":[]},"cpus":0,"threads_per_core":{"set":false,"infinite":false,"number":0}}`)
	} else {
		writeJobResources(x, cfg, j, hosts)
	}
	x.raw(`,"job_size_str":[]`)
	x.raw(`,"job_state":["` + state + `"],"last_sched_evaluation":{"set":true,"infinite":false,"number":` + strconv.FormatInt(base-60, 10) + `},"licenses":"","licenses_allocated":"","mail_type":[],"mail_user":"` + users[j.user] + `","max_cpus":{"set":true,"infinite":false,"number":0},"max_nodes":{"set":true,"infinite":false,"number":0},"mcs_label":"","memory_per_tres":""`)
	x.str(false, "name", fmt.Sprintf("train-%s-%d", users[j.user], j.id%97))
	x.raw(`,"network":""`)
	x.str(false, "nodes", hosts)
	x.raw(`,"nice":0,"tasks_per_core":{"set":false,"infinite":true,"number":0},"tasks_per_tres":{"set":true,"infinite":false,"number":0},"tasks_per_node":{"set":true,"infinite":false,"number":1},"tasks_per_socket":{"set":false,"infinite":true,"number":0},"tasks_per_board":{"set":true,"infinite":false,"number":0}`)
	x.noVal(false, "cpus", int64(totalCPUs), true)
	x.noVal(false, "node_count", int64(j.nnodes), true)
	x.noVal(false, "tasks", int64(j.nnodes), true)
	x.str(false, "partition", j.partition)
	x.raw(`,"prefer":""`)
	x.noVal(false, "memory_per_cpu", 0, false)
	x.noVal(false, "memory_per_node", j.memPerNode, true)
	x.raw(`,"minimum_cpus_per_node":{"set":true,"infinite":false,"number":8},"minimum_tmp_disk_per_node":{"set":true,"infinite":false,"number":0},"power":{"flags":[]},"preempt_time":{"set":true,"infinite":false,"number":0},"preemptable_time":{"set":true,"infinite":false,"number":0},"pre_sus_time":{"set":true,"infinite":false,"number":0},"hold":false`)
	x.noVal(false, "priority", int64(1000+rng.IntN(100000)), true)
	x.raw(`,"priority_by_partition":[],"profile":["NOT_SET"],"qos":"normal","reboot":false,"required_nodes":"","required_switches":0,"requeue":true,"resize_time":{"set":true,"infinite":false,"number":0},"restart_cnt":0,"resv_name":"","scheduled_nodes":"","segment_size":0,"selinux_context":"","shared":[],"sockets_per_board":0,"sockets_per_node":{"set":false,"infinite":false,"number":0}`)
	x.noVal(false, "start_time", start, true)
	x.raw(`,"state_description":""`)
	x.str(false, "state_reason", reason)
	x.raw(fmt.Sprintf(`,"standard_input":"/dev/null","standard_output":"/home/%[1]s/slurm-%[2]d.out","standard_error":"/home/%[1]s/slurm-%[2]d.out","stdin_expanded":"/dev/null","stdout_expanded":"/home/%[1]s/slurm-%[2]d.out","stderr_expanded":"/home/%[1]s/slurm-%[2]d.out"`, users[j.user], j.id))
	x.raw(fmt.Sprintf(`,"step_id":{"sluid":"","job_id":{"set":true,"infinite":false,"number":%d},"step_het_component":{"set":false,"infinite":false,"number":0},"step_id":"batch"}`, j.id))
	x.noVal(false, "submit_time", submit, true)
	x.raw(`,"submit_line":"sbatch --gpus-per-node=h100:8 train.sh","suspend_time":{"set":true,"infinite":false,"number":0},"system_comment":""`)
	x.noVal(false, "time_limit", 1440, true)
	x.raw(`,"time_minimum":{"set":true,"infinite":false,"number":0},"threads_per_core":{"set":false,"infinite":false,"number":0},"tres_bind":"","tres_freq":"","tres_per_job":"","tres_per_node":"gres/gpu:h100:` + strconv.Itoa(j.gpus) + `","tres_per_socket":"","tres_per_task":""`)
	if j.pending {
		x.str(false, "tres_req_str", tres)
		x.str(false, "tres_alloc_str", "")
	} else {
		x.str(false, "tres_req_str", tres)
		x.str(false, "tres_alloc_str", tres)
	}
	x.int(false, "user_id", int64(1000+j.user))
	x.str(false, "user_name", users[j.user])
	x.raw(`,"maximum_switch_wait_time":0,"wckey":"","current_working_directory":"/home/` + users[j.user] + `"}`)
}

// writeJobResources writes v0.0.44 job_resources: every core of every socket
// of every allocated node, with its status, as slurmctld does.
func writeJobResources(x *w, cfg Config, j job, hosts string) {
	x.raw(`{"select_type":["CPU","MEMORY"],"nodes":{"count":`)
	x.raw(strconv.Itoa(len(j.nodes)))
	x.raw(`,"select_type":["AVAILABLE"],"list":`)
	x.buf = strconv.AppendQuote(x.buf, hosts)
	x.raw(`,"whole":false,"allocation":[`)
	for k, n := range j.nodes {
		if k > 0 {
			x.raw(",")
		}
		x.raw(fmt.Sprintf(`{"index":%d,"name":"%s","cpus":{"count":%d,"used":%d},"memory":{"used":0,"allocated":%d},"sockets":[`,
			k, nodeName(n), j.cpusPerNode, j.cpusPerNode, j.memPerNode))
		alloc := j.cpusPerNode
		for s := 0; s < cfg.Sockets; s++ {
			if s > 0 {
				x.raw(",")
			}
			x.raw(`{"index":` + strconv.Itoa(s) + `,"cores":[`)
			for c := 0; c < cfg.CoresPerSocket; c++ {
				if c > 0 {
					x.raw(",")
				}
				status := "UNALLOCATED"
				if alloc > 0 {
					status = "ALLOCATED"
					alloc--
				}
				x.raw(`{"index":` + strconv.Itoa(c) + `,"status":["` + status + `"]}`)
			}
			x.raw("]}")
		}
		x.raw("]}")
	}
	x.raw(`]},"cpus":`)
	x.raw(strconv.Itoa(j.cpusPerNode * len(j.nodes)))
	x.raw(`,"threads_per_core":{"set":true,"infinite":false,"number":1}}`)
}
