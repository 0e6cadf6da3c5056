package openapi

import (
	"io"
	"sync"

	"jobscope/slurm"
)

// DecodeJobs decodes /slurm/vX/jobs, /slurm/vX/job/N and `squeue --json`.
//
// A GRES, TRES or hostlist string that cannot be parsed does not fail the
// response: the job is kept with that field left empty and a warning is added
// to Meta.Warnings. JSON that is malformed, or of the wrong type where a
// number, string, object or array is required, is an error.
func DecodeJobs(rd io.Reader) ([]slurm.Job, Meta, error) {
	return DecodeJobsSized(rd, 0)
}

// DecodeJobsSized is DecodeJobs told how many jobs to expect, such as the
// previous poll's count (0: no guess). Jobs are decoded straight into one
// slice of that size plus a sixteenth: a poll of 100k jobs then allocates
// its result once and never copies it, where without a guess the jobs
// are gathered in chunks and copied into a slice of the exact size (twice
// the memory touched, and the copy's fresh pages faulted in at the end).
// The slack kept is at most an eighth of the jobs; a guess far above the
// count is copied down to the exact size, so a wrong guess costs one copy,
// not memory.
func DecodeJobsSized(rd io.Reader, expect int) ([]slurm.Job, Meta, error) {
	var first []slurm.Job
	if expect > 0 {
		first = make([]slurm.Job, 0, expect+expect/16)
	}
	// Jobs beyond first's capacity are collected in fixed-size chunks:
	// growing one slice of 100k Jobs by doubling allocates and copies
	// several times its final size.
	var chunks [][]slurm.Job
	defer func() {
		for _, c := range chunks {
			clear(c[:cap(c)])
			jobChunks.Put(c[:0])
		}
	}()
	total := 0
	var cluster string
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		if string(name) != "jobs" {
			return r.skip()
		}
		return r.array(func() error {
			j, err := r.job(&cluster)
			if err != nil {
				return err
			}
			total++
			if len(first) < cap(first) {
				first = append(first, j)
				return nil
			}
			if len(chunks) == 0 || len(chunks[len(chunks)-1]) == jobChunk {
				chunks = append(chunks, jobChunks.Get().([]slurm.Job))
			}
			c := &chunks[len(chunks)-1]
			*c = append(*c, j)
			return nil
		})
	})
	if meta.Cluster == "" {
		meta.Cluster = cluster
	}
	if err != nil {
		return nil, meta, err
	}
	if total == 0 {
		return nil, meta, nil
	}
	if len(chunks) == 0 && cap(first)-len(first) <= len(first)/8 {
		return first, meta, nil
	}
	jobs := make([]slurm.Job, 0, total)
	jobs = append(jobs, first...)
	for _, c := range chunks {
		jobs = append(jobs, c...)
	}
	return jobs, meta, nil
}

// jobChunk is how many jobs one pooled chunk holds.
const jobChunk = 1024

var jobChunks = sync.Pool{New: func() any { return make([]slurm.Job, 0, jobChunk) }}

// jobExtra holds the raw fields a Job is derived from after the object has
// been read, since Slurm prints them in no particular order.
type jobExtra struct {
	states                  []string
	memPerNode, memPerCPU   number
	tresAlloc, tresReq      string
	tresPerNode, tresPerJob string
	gresDetail              []string
	resNodes                string
	alloc                   []slurm.NodeAlloc
	// cores[i] is how many cores job_resources lists for alloc[i]
	// (v0.0.37-40), used[i] its cpus_used; threads is threads_per_core.
	cores, used                  []uint32
	threads                      uint32
	arrayTaskSet, arrayTaskFound bool
}

// job reads one job. cluster is set from the first job that names its
// cluster, for versions whose meta does not.
func (r *reader) job(cluster *string) (slurm.Job, error) {
	j := slurm.Job{ArrayTaskID: -1}
	// cores and used are scratch, reused from job to job.
	x := jobExtra{cores: r.cores[:0], used: r.used[:0]}
	defer func() { r.cores, r.used = x.cores[:0], x.used[:0] }()
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "job_id":
			j.ID, err = r.u32()
		case "array_job_id":
			j.ArrayJobID, err = r.u32()
		case "array_task_id":
			// null (v0.0.38), a number, or {set:false} (v0.0.40+) when
			// the job is not an array element.
			var n number
			n, err = r.num()
			if n.set && !n.infinite && n.v >= 0 && n.v < 1<<32 {
				j.ArrayTaskID = int64(n.v)
			}
		case "array_task_string":
			j.ArrayTaskString, err = r.str()
		case "name":
			j.Name, err = r.str()
		case "user_name":
			j.User, err = r.istr()
		case "user_id":
			j.UserID, err = r.u32()
		case "account":
			j.Account, err = r.istr()
		case "partition":
			j.Partition, err = r.istr()
		case "qos":
			j.QOS, err = r.istr()
		case "job_state":
			x.states, err = r.strs(false)
		case "state_reason":
			j.Reason, err = r.istr()
		case "submit_time":
			j.SubmitTime, err = r.unixTime()
		case "start_time":
			j.StartTime, err = r.unixTime()
		case "end_time":
			j.EndTime, err = r.unixTime()
		case "time_limit":
			j.TimeLimit, err = r.minutes()
		case "cpus":
			j.CPUs, err = r.u32()
		case "node_count":
			j.NodeCount, err = r.u32()
		case "memory_per_node":
			x.memPerNode, err = r.num()
		case "memory_per_cpu":
			x.memPerCPU, err = r.num()
		case "nodes":
			j.NodeList, err = r.str()
		case "tres_alloc_str":
			x.tresAlloc, err = r.istr()
		case "tres_req_str":
			x.tresReq, err = r.istr()
		case "tres_per_node":
			x.tresPerNode, err = r.istr()
		case "tres_per_job":
			x.tresPerJob, err = r.istr()
		case "gres_detail":
			x.gresDetail, err = r.strs(false)
		case "job_resources":
			err = r.jobResources(&x)
		case "cluster":
			if *cluster == "" {
				*cluster, err = r.str()
			} else {
				err = r.skip()
			}
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return j, err
	}
	r.finishJob(&j, &x)
	return j, nil
}

// finishJob derives what depends on several fields. A string it cannot parse
// leaves what it feeds empty and is reported with r.warn.
func (r *reader) finishJob(j *slurm.Job, x *jobExtra) {
	j.State, j.StateFlags = slurm.ParseJobState(x.states...)
	alloc, req := r.jobTRES(j, x)
	j.MemoryBytes = jobMemory(j, x, alloc, req)
	allocCPUs(x)
	j.Alloc = x.alloc
	r.nameAllocNodes(j, x)
	r.allocGRES(j, x)
	j.GPUs = r.jobGPUs(j, x, alloc, req)
}

// jobTRES parses the allocated and requested TRES strings; one that cannot
// be parsed is empty.
func (r *reader) jobTRES(j *slurm.Job, x *jobExtra) (alloc, req slurm.TRES) {
	alloc, err := slurm.ParseTRES(x.tresAlloc)
	if err != nil {
		r.warn("job %d: tres_alloc_str: %v", j.ID, err)
		alloc = slurm.TRES{}
	}
	req, err = slurm.ParseTRES(x.tresReq)
	if err != nil {
		r.warn("job %d: tres_req_str: %v", j.ID, err)
		req = slurm.TRES{}
	}
	return alloc, req
}

// jobMemory is what was allocated, else what was requested, else derived
// from the per-node or per-CPU request (MiB).
func jobMemory(j *slurm.Job, x *jobExtra, alloc, req slurm.TRES) uint64 {
	switch {
	case alloc.HasMemory:
		return alloc.MemoryBytes
	case req.HasMemory:
		return req.MemoryBytes
	case x.memPerNode.u64() > 0:
		nodes := uint64(j.NodeCount)
		if nodes == 0 {
			nodes = 1
		}
		return mib(x.memPerNode.u64()) * nodes
	case x.memPerCPU.u64() > 0:
		return mib(x.memPerCPU.u64()) * uint64(j.CPUs)
	}
	return j.MemoryBytes
}

// allocCPUs sets the per-node CPUs (v0.0.37-40): cpus_used counts only CPUs
// in use by steps (0 for an allocated but idle job), so the allocation is
// the cores listed per socket times threads per core, unless cpus_used is
// larger.
func allocCPUs(x *jobExtra) {
	for i := range x.alloc {
		if i < len(x.cores) && x.cores[i] > 0 {
			n := x.cores[i]
			if x.threads > 1 {
				n *= x.threads
			}
			x.alloc[i].CPUs = max(n, x.used[i])
		}
	}
}

// nameAllocNodes names the per-node allocation from the job's node list:
// v0.0.37 gives no node names in job_resources, only positions in its node
// list, and a job with only gres_detail has no allocation entries yet.
func (r *reader) nameAllocNodes(j *slurm.Job, x *jobExtra) {
	if len(j.Alloc) == 0 && len(x.gresDetail) == 0 {
		return
	}
	list := x.resNodes
	if list == "" {
		list = j.NodeList
	}
	var hosts []string
	needNames := len(j.Alloc) == 0
	for _, a := range j.Alloc {
		if a.Node == "" {
			needNames = true
		}
	}
	if needNames && list != "" {
		var err error
		hosts, err = slurm.ExpandHostlist(list)
		if err != nil {
			r.warn("job %d: nodes: %v", j.ID, err)
		}
	}
	if len(j.Alloc) == 0 {
		j.Alloc = make([]slurm.NodeAlloc, len(hosts))
	}
	for i := range j.Alloc {
		if j.Alloc[i].Node == "" && i < len(hosts) {
			j.Alloc[i].Node = hosts[i]
		}
	}
}

// allocGRES sets each node's GRES from gres_detail, which has one entry per
// allocated node, in node order.
func (r *reader) allocGRES(j *slurm.Job, x *jobExtra) {
	for i, s := range x.gresDetail {
		if i >= len(j.Alloc) {
			break
		}
		g, err := slurm.ParseGRES(s)
		if err != nil {
			r.warn("job %d: gres_detail: %v", j.ID, err)
			continue
		}
		j.Alloc[i].GRES = g
	}
}

// jobGPUs is what the job holds when it holds resources, else what it
// requested. The TRES strings name GPUs only where AccountingStorageTRES
// tracks gres/gpu (not Slurm's default); without that, a job's GPUs are
// what it holds per node (gres_detail), else what it asked for.
func (r *reader) jobGPUs(j *slurm.Job, x *jobExtra, alloc, req slurm.TRES) uint64 {
	held := x.tresAlloc != "" && j.State != "PENDING"
	switch {
	case held && alloc.HasGPUs:
		return alloc.GPUs
	case held && allocGPUs(j.Alloc) > 0:
		return allocGPUs(j.Alloc)
	case held:
		return r.requestedGPUs(j, x)
	case req.GPUs > 0:
		return req.GPUs
	}
	return r.requestedGPUs(j, x)
}

// allocGPUs sums the GPUs of a job's per-node allocation.
func allocGPUs(alloc []slurm.NodeAlloc) uint64 {
	var n uint64
	for _, a := range alloc {
		n += slurm.GPUCount(a.GRES)
	}
	return n
}

// requestedGPUs is the GPU count of a job's tres_per_job, else of its
// tres_per_node times its node count.
func (r *reader) requestedGPUs(j *slurm.Job, x *jobExtra) uint64 {
	perJob, err := slurm.ParseGRES(x.tresPerJob)
	if err != nil {
		r.warn("job %d: tres_per_job: %v", j.ID, err)
	}
	if n := slurm.GPUCount(perJob); n > 0 {
		return n
	}
	perNode, err := slurm.ParseGRES(x.tresPerNode)
	if err != nil {
		r.warn("job %d: tres_per_node: %v", j.ID, err)
	}
	nodes := uint64(j.NodeCount)
	if nodes == 0 {
		nodes = 1
	}
	return slurm.GPUCount(perNode) * nodes
}

// jobResources reads job_resources in both of its shapes:
//
//	v0.0.37-40: {"nodes":"node[1-2]", "allocated_nodes":[{nodename,cpus_used,
//	            memory_allocated,...}]}; v0.0.37 prints allocated_nodes as an
//	            object keyed by position with {cpus, memory}.
//	v0.0.41+:   {"nodes":{"list":"...","allocation":[{name,cpus:{count},
//	            memory:{allocated},sockets:[...]}]}}
//
// The per-core socket maps, which make up most of a running job's bytes, are
// skipped unparsed.
func (r *reader) jobResources(x *jobExtra) error {
	return r.object(func(name []byte) error {
		switch string(name) {
		case "nodes":
			if r.peekKind() != '{' {
				s, err := r.str()
				x.resNodes = s
				return err
			}
			return r.object(func(name []byte) error {
				switch string(name) {
				case "list":
					s, err := r.str()
					x.resNodes = s
					return err
				case "allocation":
					return r.array(func() error { return r.nodeAlloc(x) })
				}
				return r.skip()
			})
		case "threads_per_core":
			v, err := r.u32()
			x.threads = v
			return err
		case "allocated_nodes":
			if r.peekKind() == '{' {
				return r.object(func(name []byte) error {
					return r.nodeAlloc(x)
				})
			}
			return r.array(func() error { return r.nodeAlloc(x) })
		}
		return r.skip()
	})
}

// nodeAlloc reads one node's allocation. v0.0.37 keys the allocations by
// position ("0", "1", ...); slurmctld prints them in that order, so order of
// appearance is node order.
func (r *reader) nodeAlloc(x *jobExtra) error {
	var a slurm.NodeAlloc
	var cores, used uint32
	// exact: the node's CPU count was given outright (v0.0.37's "cpus"),
	// not to be derived from the cores.
	exact := false
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "nodename", "name":
			a.Node, err = r.str()
		case "sockets":
			// v0.0.38-40: {"0":{"cores":{"1":"allocated",...}}};
			// v0.0.37: {"0":"assigned"} (its "cpus" is used);
			// v0.0.41+: a per-core array, not needed (cpus.count).
			if r.peekKind() != '{' {
				return r.skip()
			}
			err = r.object(func([]byte) error {
				if r.peekKind() != '{' {
					return r.skip()
				}
				return r.object(func(name []byte) error {
					if string(name) != "cores" {
						return r.skip()
					}
					n, err := r.countMembers()
					cores += n
					return err
				})
			})
		case "cores":
			// v0.0.37: {"2":"unassigned",...} next to sockets; not
			// used when "cpus" gives the count.
			var n uint32
			n, err = r.countMembers()
			cores += n
		case "cpus_used":
			used, err = r.u32()
			a.CPUs = used
		case "cpus":
			// v0.0.41+: {"count":N,"used":M}; older: a number.
			if r.peekKind() == '{' {
				err = r.only("count", func() (err error) {
					a.CPUs, err = r.u32()
					return err
				})
			} else {
				// v0.0.37: job_resources->cpus[node], the CPUs
				// allocated there; its "cores" map cannot be
				// counted (keyed by core index within a socket,
				// threads not shown).
				a.CPUs, err = r.u32()
				exact = true
			}
		case "memory_allocated", "memory":
			if r.peekKind() == '{' {
				err = r.only("allocated", func() error {
					v, err := r.u64()
					a.MemoryBytes = mib(v)
					return err
				})
			} else {
				var v uint64
				v, err = r.u64()
				a.MemoryBytes = mib(v)
			}
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if exact {
		cores = 0
	}
	x.alloc = append(x.alloc, a)
	x.cores = append(x.cores, cores)
	x.used = append(x.used, used)
	return nil
}

// countMembers reads an object and returns how many members it has (an
// array: how many elements); other values count 0.
func (r *reader) countMembers() (uint32, error) {
	var n uint32
	var err error
	switch r.peekKind() {
	case '{':
		err = r.object(func([]byte) error { n++; return r.skip() })
	case '[':
		err = r.array(func() error { n++; return r.skip() })
	default:
		err = r.skip()
	}
	return n, err
}
