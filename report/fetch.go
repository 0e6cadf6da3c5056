package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// fetch fills r from the job's series over the grid: first the job's own
// series (Slurm's view, GPU holders, cgroup, fabric), then the per-GPU and
// node identity series of what those name.
func (f *fetcher) fetch(ctx context.Context, r *Report, jobID string, now time.Time) error {
	job := f.job
	a, err := f.run(ctx, []query{
		{name: "info", metric: "jobscope_slurm_job_info", sel: job, fn: "last_over_time"},
		{name: "start", metric: "jobscope_slurm_job_start_timestamp_seconds", sel: job, fn: "last_over_time"},
		{name: "limit", metric: "jobscope_slurm_job_time_limit_seconds", sel: job, fn: "last_over_time"},
		{name: "gpus", metric: "jobscope_slurm_job_gpus", sel: job, fn: "last_over_time"},
		{name: "node_gpus", metric: "jobscope_slurm_job_node_gpus", sel: job, fn: "last_over_time"},
		{name: "tenant", metric: "jobscope_gpu_tenant_info", sel: job, fn: "last_over_time"},
		{name: "cpu", metric: "jobscope_job_cpu_seconds_total", sel: job, fn: "last_over_time", counter: true},
		{name: "cpus", metric: "jobscope_job_cpus", sel: job, fn: "last_over_time"},
		{name: "mem_used", metric: "jobscope_job_memory_used_bytes", sel: job, fn: "max_over_time"},
		{name: "mem_peak", metric: "jobscope_job_memory_peak_bytes", sel: job, fn: "max_over_time"},
		{name: "mem_limit", metric: "jobscope_job_memory_limit_bytes", sel: job, fn: "last_over_time"},
		{name: "oom", metric: "jobscope_job_oom_kills_total", sel: job, fn: "last_over_time", counter: true},
		{name: "job_energy", metric: "jobscope_job_gpu_energy_joules_total", sel: job, fn: "last_over_time", counter: true},
		{name: "ib_rx_bytes", metric: "jobscope_infiniband_job_received_bytes_total", sel: job, fn: "last_over_time", counter: true},
		{name: "ib_tx_bytes", metric: "jobscope_infiniband_job_transmitted_bytes_total", sel: job, fn: "last_over_time", counter: true},
		{name: "ib_rx_packets", metric: "jobscope_infiniband_job_received_packets_total", sel: job, fn: "last_over_time", counter: true},
		{name: "ib_tx_packets", metric: "jobscope_infiniband_job_transmitted_packets_total", sel: job, fn: "last_over_time", counter: true},
	})
	if err != nil {
		return err
	}

	// Identity: the job_info series seen last (its state may have changed).
	r.Job.ID = jobID
	if info := latest(a["info"]); info != nil {
		l := info.labels
		r.Job.SlurmSeen = true
		r.Job.Name, r.Job.User, r.Job.Account = string(l["name"]), string(l["user"]), string(l["account"])
		r.Job.Partition, r.Job.QOS, r.Job.State = string(l["partition"]), string(l["qos"]), string(l["state"])
		r.Job.ArrayJobID, r.Job.ArrayTaskID = string(l["array_job_id"]), string(l["array_task_id"])
	} else {
		r.Missing = append(r.Missing, "no jobscope_slurm_job_info series: the job's name, user, account and state are unknown (is `jobscope slurm` scraped?)")
	}
	r.Job.Start = f.ws.UTC()
	if v, ok := lastValue(a["start"]); ok && v > 0 {
		r.Job.Start = time.Unix(0, int64(v*1e9)).UTC()
	}
	r.Job.TimeLimitSeconds = ptrLast(a["limit"])
	r.Job.GPUsAllocated = ptrLast(a["gpus"])
	if r.Job.Running, err = f.running(ctx, now); err != nil {
		return err
	}
	end := now
	if !r.Job.Running {
		e := f.we.UTC()
		r.Job.End, end = &e, e
	}
	r.Job.DurationSeconds = math.Max(0, end.Sub(r.Job.Start).Seconds())

	// Nodes: Slurm's allocation, the GPU holders and the agents' per-job
	// series; an agent's series name its node through its instance.
	nodes := map[string]*Node{}
	node := func(name string) *Node {
		if nodes[name] == nil {
			nodes[name] = &Node{Name: name, GPUs: []GPU{}}
		}
		return nodes[name]
	}
	// Per node and GPU type; replicas of the cluster exporter give the same
	// series under other target labels, so the same (node, type) counts once.
	perType := map[[2]string]float64{}
	for _, s := range a["node_gpus"] {
		if v, ok := lastOf(s); ok {
			k := [2]string{string(s.labels["node"]), string(s.labels["type"])}
			perType[k] = math.Max(perType[k], v)
		}
	}
	for k, v := range perType {
		n := node(k[0])
		n.GPUsAllocated = addPtr(n.GPUsAllocated, v)
	}
	instNode := map[string]string{}
	gpuNode := map[string]string{}
	gpuMeta := map[string]model.Metric{}
	for _, s := range a["tenant"] {
		uuid, nn, inst := string(s.labels["uuid"]), string(s.labels["node"]), string(s.labels["instance"])
		if nn == "" {
			nn = inst
		}
		if inst != "" && nn != "" {
			instNode[inst] = nn
		}
		gpuNode[uuid], gpuMeta[uuid] = nn, s.labels
	}
	agentInstances := map[string]bool{}
	for _, name := range []string{"cpu", "cpus", "mem_used", "mem_peak", "mem_limit", "oom", "job_energy", "ib_rx_bytes", "ib_tx_bytes", "ib_rx_packets", "ib_tx_packets"} {
		for _, s := range a[name] {
			if inst := string(s.labels["instance"]); inst != "" && instNode[inst] == "" {
				agentInstances[inst] = true
			}
		}
	}

	// Phase two: per-GPU series of the GPUs the job held, and the node
	// identity of agents known only by instance.
	uuids := make([]string, 0, len(gpuNode))
	for u := range gpuNode {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	var qs []query
	if len(uuids) > 0 {
		g := fmt.Sprintf(`uuid=~%q,%s`, regexAlt(uuids), f.cl)
		qs = append(qs,
			query{name: "gpu_info", metric: "jobscope_gpu_info", sel: g, fn: "last_over_time"},
			query{name: "util", metric: "jobscope_gpu_utilization_ratio", sel: g, fn: "avg_over_time"},
			query{name: "sm", metric: "jobscope_gpu_sm_active_ratio", sel: g, fn: "avg_over_time"},
			query{name: "tensor", metric: "jobscope_gpu_tensor_active_ratio", sel: g, fn: "avg_over_time"},
			query{name: "gmem_used", metric: "jobscope_gpu_memory_used_bytes", sel: g, fn: "max_over_time"},
			query{name: "gmem_total", metric: "jobscope_gpu_memory_total_bytes", sel: g, fn: "last_over_time"},
			query{name: "power", metric: "jobscope_gpu_power_watts", sel: g, fn: "avg_over_time"},
			query{name: "energy", metric: "jobscope_gpu_energy_joules_total", sel: g, fn: "last_over_time", counter: true},
			query{name: "xid", metric: "jobscope_gpu_xid_errors_total", sel: g, fn: "last_over_time", counter: true},
			query{name: "ecc", metric: "jobscope_gpu_ecc_errors_total", sel: g + `,type="uncorrected"`, fn: "last_over_time", counter: true},
			query{name: "up", metric: "jobscope_gpu_up", sel: g, fn: "min_over_time"},
		)
	}
	if len(agentInstances) > 0 {
		qs = append(qs, query{name: "node_info", metric: "jobscope_node_info",
			sel: fmt.Sprintf(`instance=~%q,%s`, regexAlt(sortedKeys(agentInstances)), f.cl), fn: "last_over_time"})
	}
	b, err := f.run(ctx, qs)
	if err != nil {
		return err
	}
	for _, s := range b["node_info"] {
		if inst, nn := string(s.labels["instance"]), string(s.labels["node"]); nn != "" {
			instNode[inst] = nn
		}
	}
	nodeOf := func(s *series) *Node {
		inst := string(s.labels["instance"])
		nn := instNode[inst]
		if nn == "" {
			// No identity series: the target's host name is the best guess.
			nn = inst
			if i := strings.LastIndexByte(nn, ':'); i > 0 {
				nn = nn[:i]
			}
		}
		n := node(nn)
		if n.Instance == "" {
			n.Instance = inst
		}
		return n
	}

	// GPUs.
	byUUID := func(name string) map[string][]*series {
		m := map[string][]*series{}
		for _, s := range b[name] {
			u := string(s.labels["uuid"])
			m[u] = append(m[u], s)
		}
		return m
	}
	util, sm, tensor := byUUID("util"), byUUID("sm"), byUUID("tensor")
	gmemUsed, gmemTotal, power := byUUID("gmem_used"), byUUID("gmem_total"), byUUID("power")
	energy, xid, ecc, up, ginfo := byUUID("energy"), byUUID("xid"), byUUID("ecc"), byUUID("up"), byUUID("gpu_info")
	times := f.gaugeTimes()
	for _, u := range uuids {
		meta := gpuMeta[u]
		n := node(gpuNode[u])
		if n.Instance == "" {
			n.Instance = string(meta["instance"])
		}
		gp := GPU{UUID: u, Index: string(meta["gpu"]), GRESIndex: string(meta["gres_index"]), XIDs: []XID{}, Series: []Point{}}
		if s := latest(ginfo[u]); s != nil {
			gp.Model = string(s.labels["model"])
			if gp.GRESIndex == "" {
				gp.GRESIndex = string(s.labels["gres_index"])
			}
		}
		gp.Utilization = f.stat(util[u])
		gp.SMActive = f.stat(sm[u])
		gp.TensorActive = f.stat(tensor[u])
		if st := f.stat(gmemUsed[u]); st != nil {
			gp.MemoryUsedMaxBytes = &st.Max
		}
		gp.MemoryTotalBytes = ptrLast(gmemTotal[u])
		if gp.MemoryUsedMaxBytes != nil && gp.MemoryTotalBytes != nil && *gp.MemoryTotalBytes > 0 {
			v := *gp.MemoryUsedMaxBytes / *gp.MemoryTotalBytes
			gp.MemoryUsedMaxRatio = &v
		}
		if st := f.stat(power[u]); st != nil {
			gp.PowerMeanWatts = &st.Mean
		}
		gp.EnergyJoules = f.sumIncrease(energy[u], false)
		codes := map[string]float64{}
		for _, s := range xid[u] {
			if inc, ok := f.increase(s, true); ok && inc > 0 {
				codes[string(s.labels["xid"])] += inc
			}
		}
		for _, c := range sortedCodes(codes) {
			gp.XIDs = append(gp.XIDs, XID{Code: c, Count: codes[c]})
		}
		// volatile and aggregate count the same events: the larger rise.
		for _, s := range ecc[u] {
			if inc, ok := f.increase(s, false); ok && (gp.ECCUncorrected == nil || inc > *gp.ECCUncorrected) {
				v := inc
				gp.ECCUncorrected = &v
			}
		}
		for _, s := range up[u] {
			for _, v := range s.values {
				if v == 0 {
					gp.Lost = true
				}
			}
		}
		ut, mu := merged(util[u]), merged(gmemUsed[u])
		for _, t := range times {
			p := Point{Time: t.Time().UTC()}
			if v, ok := ut[t]; ok {
				p.Utilization = &v
			}
			if v, ok := mu[t]; ok {
				p.MemoryUsedBytes = &v
			}
			gp.Series = append(gp.Series, p)
		}
		n.GPUs = append(n.GPUs, gp)
	}

	// Host side: the job's cgroup on each node.
	hosts := map[*Node]*Host{}
	host := func(s *series) *Host {
		n := nodeOf(s)
		if hosts[n] == nil {
			hosts[n] = &Host{}
			n.Host = hosts[n]
		}
		return hosts[n]
	}
	for _, s := range a["cpu"] {
		if inc, ok := f.increase(s, true); ok {
			host(s).CPUSeconds = addPtr(host(s).CPUSeconds, inc)
		}
	}
	setMax := func(name string, get func(h *Host) **float64) {
		for _, s := range a[name] {
			if st := f.stat([]*series{s}); st != nil {
				p := get(host(s))
				if *p == nil || st.Max > **p {
					v := st.Max
					*p = &v
				}
			}
		}
	}
	setMax("cpus", func(h *Host) **float64 { return &h.CPUs })
	setMax("mem_used", func(h *Host) **float64 { return &h.MemoryUsedMaxBytes })
	setMax("mem_peak", func(h *Host) **float64 { return &h.MemoryPeakBytes })
	setMax("mem_limit", func(h *Host) **float64 { return &h.MemoryLimitBytes })
	for _, s := range a["oom"] {
		if inc, ok := f.increase(s, true); ok {
			host(s).OOMKills = addPtr(host(s).OOMKills, inc)
		}
	}
	wall := f.we.Sub(f.ws).Seconds()
	for _, h := range hosts {
		if h.CPUSeconds != nil && h.CPUs != nil && *h.CPUs > 0 && wall > 0 {
			v := *h.CPUSeconds / (*h.CPUs * wall)
			h.CPUEfficiency = &v
		}
		peak := h.MemoryPeakBytes
		if peak == nil {
			peak = h.MemoryUsedMaxBytes
		}
		if peak != nil && h.MemoryLimitBytes != nil && *h.MemoryLimitBytes > 0 {
			v := *peak / *h.MemoryLimitBytes
			h.MemoryPeakRatio = &v
		}
	}
	for _, s := range a["job_energy"] {
		if inc, ok := f.increase(s, true); ok {
			n := nodeOf(s)
			n.GPUEnergyJoules = addPtr(n.GPUEnergyJoules, inc)
		}
	}

	// InfiniBand, per node and port.
	type portKey struct {
		n                 *Node
		dev, port, attrib string
	}
	ports := map[portKey]*IBPort{}
	var portOrder []portKey
	for _, c := range []struct {
		name string
		add  func(p *IBPort, v float64)
	}{
		{"ib_rx_bytes", func(p *IBPort, v float64) { p.ReceivedBytes += v }},
		{"ib_tx_bytes", func(p *IBPort, v float64) { p.TransmittedBytes += v }},
		{"ib_rx_packets", func(p *IBPort, v float64) { p.ReceivedPackets += v }},
		{"ib_tx_packets", func(p *IBPort, v float64) { p.TransmittedPackets += v }},
	} {
		for _, s := range a[c.name] {
			inc, ok := f.increase(s, true)
			if !ok {
				continue
			}
			k := portKey{nodeOf(s), string(s.labels["device"]), string(s.labels["port"]), string(s.labels["attribution"])}
			if ports[k] == nil {
				ports[k] = &IBPort{Device: k.dev, Port: k.port, Attribution: k.attrib}
				portOrder = append(portOrder, k)
			}
			c.add(ports[k], inc)
		}
	}
	sort.Slice(portOrder, func(i, j int) bool {
		a, b := portOrder[i], portOrder[j]
		if a.n.Name != b.n.Name {
			return a.n.Name < b.n.Name
		}
		if a.dev != b.dev {
			return a.dev < b.dev
		}
		return a.port < b.port
	})
	for _, k := range portOrder {
		p := ports[k]
		if k.n.InfiniBand == nil {
			k.n.InfiniBand = &InfiniBand{Ports: []IBPort{}}
		}
		ib := k.n.InfiniBand
		ib.ReceivedBytes += p.ReceivedBytes
		ib.TransmittedBytes += p.TransmittedBytes
		ib.ReceivedPackets += p.ReceivedPackets
		ib.TransmittedPackets += p.TransmittedPackets
		ib.Ports = append(ib.Ports, *p)
	}

	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	var anyHost, anyIB bool
	for _, nn := range names {
		n := nodes[nn]
		sort.Slice(n.GPUs, func(i, j int) bool { return gpuLess(n.GPUs[i], n.GPUs[j]) })
		if n.GPUsAllocated != nil && *n.GPUsAllocated > 0 && len(n.GPUs) == 0 {
			r.Missing = append(r.Missing, fmt.Sprintf("node %s: Slurm allocated %g GPUs but no node agent reported a holder (jobscope_gpu_tenant_info)", nn, *n.GPUsAllocated))
		}
		anyHost = anyHost || n.Host != nil
		anyIB = anyIB || n.InfiniBand != nil
		r.Nodes = append(r.Nodes, *n)
	}
	if len(uuids) == 0 {
		r.Missing = append(r.Missing, "no GPUs: no node agent reported the job holding a GPU (jobscope_gpu_tenant_info)")
	}
	if !anyIB {
		r.Missing = append(r.Missing, "no InfiniBand: no per-job fabric series (jobscope_infiniband_job_*)")
	}
	if !anyHost {
		r.Missing = append(r.Missing, "no host CPU and memory: no job cgroup series (jobscope_job_cpu_seconds_total, jobscope_job_memory_*)")
	}
	return nil
}

// stat summarises a gauge's points inside the life (all its series).
func (f *fetcher) stat(ss []*series) *Stat {
	var vs []float64
	for _, s := range ss {
		vs = append(vs, f.gaugeValues(s)...)
	}
	if len(vs) == 0 {
		return nil
	}
	sort.Float64s(vs)
	var sum float64
	for _, v := range vs {
		sum += v
	}
	// p95 by nearest rank.
	rank := int(math.Ceil(0.95*float64(len(vs)))) - 1
	return &Stat{Mean: sum / float64(len(vs)), P95: vs[max(rank, 0)], Max: vs[len(vs)-1]}
}

func (f *fetcher) sumIncrease(ss []*series, fromZero bool) *float64 {
	var out *float64
	for _, s := range ss {
		if inc, ok := f.increase(s, fromZero); ok {
			out = addPtr(out, inc)
		}
	}
	return out
}

// latest is the series whose last point is the newest.
func latest(ss []*series) *series {
	var best *series
	var bt model.Time
	for _, s := range ss {
		for t := range s.values {
			if best == nil || t > bt {
				best, bt = s, t
			}
		}
	}
	return best
}

func lastOf(s *series) (float64, bool) {
	var bt model.Time
	var v float64
	ok := false
	for t, x := range s.values {
		if !ok || t > bt {
			bt, v, ok = t, x, true
		}
	}
	return v, ok
}

func lastValue(ss []*series) (float64, bool) {
	if s := latest(ss); s != nil {
		return lastOf(s)
	}
	return 0, false
}

func ptrLast(ss []*series) *float64 {
	if v, ok := lastValue(ss); ok {
		return &v
	}
	return nil
}

// merged is several series of one GPU (e.g. after an agent restart under a
// new instance) as one, by time.
func merged(ss []*series) map[model.Time]float64 {
	m := map[model.Time]float64{}
	for _, s := range ss {
		for t, v := range s.values {
			if _, ok := m[t]; !ok && !math.IsNaN(v) {
				m[t] = v
			}
		}
	}
	return m
}

func addPtr(p *float64, v float64) *float64 {
	if p != nil {
		v += *p
	}
	return &v
}

func sortedCodes(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if len(ks[i]) != len(ks[j]) {
			return len(ks[i]) < len(ks[j])
		}
		return ks[i] < ks[j]
	})
	return ks
}

// gpuLess orders GPUs by index as a number, then UUID.
func gpuLess(a, b GPU) bool {
	if len(a.Index) != len(b.Index) {
		return len(a.Index) < len(b.Index)
	}
	if a.Index != b.Index {
		return a.Index < b.Index
	}
	return a.UUID < b.UUID
}
