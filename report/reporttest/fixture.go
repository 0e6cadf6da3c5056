// Package reporttest is the history the report tests read: synthetic jobs
// written as timestamped OpenMetrics, turned into TSDB blocks by promtool
// and served by a real Prometheus (test/promtest). The constants here are
// what the tests expect the report to compute, so the fixture and the
// assertions cannot drift apart.
package reporttest

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobscope/test/promtest"
)

// Interval is the fixture's scrape interval.
const Interval = 30 * time.Second

// Span is how much history the fixture holds, ending at now.
const Span = 6 * time.Hour

// GiB is 2^30 bytes.
const GiB = float64(1 << 30)

// GPU is one GPU and what it did while its job held it. Outside the job it
// shows OutsideUtil and idle power, so a report mixing in data from before
// or after the job is caught.
type GPU struct {
	Index          string
	UUID           string
	Util           float64
	SM, Tensor     float64 // < 0: not exported (the nvml backend before Hopper)
	MemUsedBytes   float64
	PowerWatts     float64
	XIDDuringJob   string // an XID code raised halfway through the job
	XIDBeforeJob   string // an XID code raised before the job (not the job's)
	ECCDuringJob   float64
	LostDuringJob  bool // jobscope_gpu_up 0 for two scrapes near the end
	MemTotalBytes  float64
	OutsideUtil    float64
	OutsidePowerW  float64
	OutsideMemUsed float64
}

// Node is one node of a job.
type Node struct {
	Name, Instance string
	GPUs           []GPU
	CPUs           float64
	BusyCPUs       float64 // CPU-seconds per second
	MemPeakBytes   float64
	MemLimitBytes  float64
	OOMKills       float64 // raised halfway through
	IBBytesPerSec  float64 // 0: no per-job InfiniBand series
	IBPacketSize   float64
}

// Job is one fixture job.
type Job struct {
	ID, Name, User, Account, Partition, QOS string
	Start, End                              time.Time // End: last sample
	TimeLimit                               float64
	Nodes                                   []Node
}

const memTotal = 80 * GiB

func gpu(node string, i int, util, sm, tensor, mem, power float64) GPU {
	return GPU{Index: strconv.Itoa(i), UUID: fmt.Sprintf("GPU-%s-0000-4000-8000-00000000000%d", strings.Repeat(node[len(node)-1:], 8), i),
		Util: util, SM: sm, Tensor: tensor, MemUsedBytes: mem, PowerWatts: power, MemTotalBytes: memTotal,
		OutsideUtil: 0.66, OutsidePowerW: 100, OutsideMemUsed: 2 * GiB}
}

// HostileName is a job name built to break every output format.
const HostileName = "<script>alert(1)</script>\n\"quoted\" \x1b[31mred\u202e"

// Jobs are the fixture's jobs at now (a multiple of Interval):
//   - 4242, running for 2h on gpu-a and gpu-b, 8 GPUs: a straggler (gpu-a
//     GPU 3), an idle GPU (gpu-b GPU 3), a GPU nearly out of memory (gpu-a
//     GPU 1), XID 79 on gpu-b GPU 1 halfway, an XID 13 on gpu-a GPU 0
//     before the job, InfiniBand traffic, and gpu-b's CPUs nearly all busy;
//   - 4100, ended 3h ago after 2h on gpu-c, 2 GPUs, an ECC error and a lost
//     GPU, no InfiniBand;
//   - 4300, ended 2h ago, no GPU, a hostile name, user and account, one OOM
//     kill.
func Jobs(now time.Time) []Job {
	a := []GPU{
		gpu("gpu-a", 0, 0.9, 0.6, 0.4, 60*GiB, 500),
		gpu("gpu-a", 1, 0.9, 0.6, 0.4, 79*GiB, 500),
		gpu("gpu-a", 2, 0.9, 0.6, 0.4, 60*GiB, 500),
		gpu("gpu-a", 3, 0.25, 0.15, 0.1, 40*GiB, 250),
	}
	a[0].XIDBeforeJob = "13"
	b := []GPU{
		gpu("gpu-b", 0, 0.9, -1, -1, 60*GiB, 500),
		gpu("gpu-b", 1, 0.9, -1, -1, 60*GiB, 500),
		gpu("gpu-b", 2, 0.9, -1, -1, 60*GiB, 500),
		gpu("gpu-b", 3, 0, -1, -1, 1*GiB, 70),
	}
	b[1].XIDDuringJob = "79"
	c := []GPU{
		gpu("gpu-c", 0, 0.5, -1, -1, 30*GiB, 300),
		gpu("gpu-c", 1, 0.5, -1, -1, 30*GiB, 300),
	}
	c[0].ECCDuringJob = 2
	c[1].LostDuringJob = true
	for i := range c {
		c[i].OutsideUtil = 0.77 // another job after this one
	}
	return []Job{
		{ID: "4242", Name: "train-llm", User: "alice", Account: "ml", Partition: "gpu", QOS: "normal",
			Start: now.Add(-2 * time.Hour), End: now, TimeLimit: 4 * 3600,
			Nodes: []Node{
				{Name: "gpu-a", Instance: "gpu-a:9851", GPUs: a, CPUs: 32, BusyCPUs: 8, MemPeakBytes: 200 * GiB, MemLimitBytes: 512 * GiB, IBBytesPerSec: 2e9, IBPacketSize: 4096},
				{Name: "gpu-b", Instance: "gpu-b:9851", GPUs: b, CPUs: 32, BusyCPUs: 30, MemPeakBytes: 300 * GiB, MemLimitBytes: 512 * GiB, IBBytesPerSec: 1.8e9, IBPacketSize: 4096},
			}},
		{ID: "4100", Name: "eval", User: "bob", Account: "research", Partition: "gpu", QOS: "high",
			Start: now.Add(-5 * time.Hour), End: now.Add(-3 * time.Hour), TimeLimit: 3 * 3600,
			Nodes: []Node{{Name: "gpu-c", Instance: "gpu-c:9851", GPUs: c, CPUs: 16, BusyCPUs: 12, MemPeakBytes: 64 * GiB, MemLimitBytes: 128 * GiB}}},
		{ID: "4300", Name: HostileName, User: "eve<b>", Account: "acct&'\"", Partition: "cpu", QOS: "normal",
			Start: now.Add(-150 * time.Minute), End: now.Add(-2 * time.Hour), TimeLimit: 3600,
			Nodes: []Node{{Name: "gpu-c", Instance: "gpu-c:9851", CPUs: 4, BusyCPUs: 1, MemPeakBytes: 8 * GiB, MemLimitBytes: 8 * GiB, OOMKills: 1}}},
	}
}

// writer collects samples by metric name (OpenMetrics wants each family's
// lines together) and series, in time order.
type writer struct {
	names  []string
	series map[string][]string // name -> lines
}

func (w *writer) add(name string, labels map[string]string, t time.Time, v float64) {
	if w.series == nil {
		w.series = map[string][]string{}
	}
	if _, ok := w.series[name]; !ok {
		w.names = append(w.names, name)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", k, escape(labels[k]))
	}
	fmt.Fprintf(&b, "} %s %d", strconv.FormatFloat(v, 'g', -1, 64), t.Unix())
	w.series[name] = append(w.series[name], b.String())
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func (w *writer) bytes() []byte {
	var b bytes.Buffer
	for _, n := range w.names {
		for _, l := range w.series[n] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// OpenMetrics writes the fixture's history, Span up to now.
func OpenMetrics(now time.Time) []byte {
	w := &writer{}
	from := now.Add(-Span)
	steps := func(a, b time.Time, fn func(t time.Time)) {
		for t := a; !t.After(b); t = t.Add(Interval) {
			fn(t)
		}
	}
	// Two replicas of the cluster exporter, as the chart may run: the
	// report must count their identical series once.
	replicas := []map[string]string{
		{"cluster": "c1", "job": "jobscope-slurm", "instance": "slurm-exporter-0:9850"},
		{"cluster": "c1", "job": "jobscope-slurm", "instance": "slurm-exporter-1:9850"},
	}
	agents := map[string]map[string]string{}
	type held struct {
		job  Job
		node Node
		gpu  GPU
	}
	var gpus []held
	for _, j := range Jobs(now) {
		var total float64
		for _, n := range j.Nodes {
			total += float64(len(n.GPUs))
		}
		steps(j.Start, j.End, func(t time.Time) {
			for _, slurm := range replicas {
				jl := with(slurm, "job_id", j.ID)
				w.add("jobscope_slurm_job_info", with(jl, "name", j.Name, "user", j.User, "account", j.Account, "partition", j.Partition,
					"qos", j.QOS, "state", "running", "array_job_id", "", "array_task_id", ""), t, 1)
				w.add("jobscope_slurm_job_start_timestamp_seconds", jl, t, float64(j.Start.Unix()))
				w.add("jobscope_slurm_job_time_limit_seconds", jl, t, j.TimeLimit)
				if total > 0 {
					w.add("jobscope_slurm_job_gpus", jl, t, total)
				}
				for _, n := range j.Nodes {
					if len(n.GPUs) > 0 {
						w.add("jobscope_slurm_job_node_gpus", with(jl, "node", n.Name, "type", "h100"), t, float64(len(n.GPUs)))
					}
				}
			}
		})
		for _, n := range j.Nodes {
			al := map[string]string{"cluster": "c1", "job": "jobscope-node", "instance": n.Instance}
			agents[n.Name] = al
			nl := with(al, "job_id", j.ID)
			var cpu, energy, ib float64
			var nodePower float64
			for _, g := range n.GPUs {
				nodePower += g.PowerWatts
				gpus = append(gpus, held{j, n, g})
			}
			half := j.Start.Add(j.End.Sub(j.Start) / 2)
			steps(j.Start, j.End, func(t time.Time) {
				if t.After(j.Start) {
					cpu += n.BusyCPUs * Interval.Seconds()
					energy += nodePower * Interval.Seconds()
					ib += n.IBBytesPerSec * Interval.Seconds()
				}
				w.add("jobscope_job_cpu_seconds_total", nl, t, cpu)
				w.add("jobscope_job_cpus", nl, t, n.CPUs)
				w.add("jobscope_job_memory_used_bytes", nl, t, 0.8*n.MemPeakBytes)
				w.add("jobscope_job_memory_peak_bytes", nl, t, n.MemPeakBytes)
				w.add("jobscope_job_memory_limit_bytes", nl, t, n.MemLimitBytes)
				oom := 0.0
				if !t.Before(half) {
					oom = n.OOMKills
				}
				w.add("jobscope_job_oom_kills_total", nl, t, oom)
				if len(n.GPUs) > 0 {
					w.add("jobscope_job_gpu_energy_joules_total", nl, t, energy)
				}
				if n.IBBytesPerSec > 0 {
					il := with(nl, "device", "mlx5_0", "port", "1", "attribution", "exclusive")
					w.add("jobscope_infiniband_job_received_bytes_total", il, t, ib)
					w.add("jobscope_infiniband_job_transmitted_bytes_total", il, t, ib)
					w.add("jobscope_infiniband_job_received_packets_total", il, t, ib/n.IBPacketSize)
					w.add("jobscope_infiniband_job_transmitted_packets_total", il, t, ib/n.IBPacketSize)
				}
			})
		}
	}
	nodeNames := make([]string, 0, len(agents))
	for n := range agents {
		nodeNames = append(nodeNames, n)
	}
	sort.Strings(nodeNames)
	steps(from, now, func(t time.Time) {
		for _, n := range nodeNames {
			w.add("jobscope_node_info", with(agents[n], "node", n, "hostname", n, "k8s_node", "", "slurmd_namespace", "", "slurmd_pod", ""), t, 1)
		}
	})
	// Per-GPU series exist for the whole span: the GPU is there before and
	// after the job, doing something else.
	for _, h := range gpus {
		j, n, g := h.job, h.node, h.gpu
		al := with(agents[n.Name], "uuid", g.UUID, "gpu", g.Index)
		in := func(t time.Time) bool { return !t.Before(j.Start) && !t.After(j.End) }
		half := j.Start.Add(j.End.Sub(j.Start) / 2)
		var energy, xidIn, xidBefore, ecc float64 = 1e9, 0, 0, 0
		steps(from, now, func(t time.Time) {
			util, power, mem := g.OutsideUtil, g.OutsidePowerW, g.OutsideMemUsed
			if in(t) {
				util, power, mem = g.Util, g.PowerWatts, g.MemUsedBytes
			}
			if t.After(from) {
				energy += power * Interval.Seconds()
			}
			w.add("jobscope_gpu_info", with(al, "node", n.Name, "model", "NVIDIA H100 80GB HBM3", "gres_index", g.Index, "backend", "nvml",
				"driver", "580.105.08", "minor", g.Index, "pci_bus_id", fmt.Sprintf("00000000:%02X:00.0", 0x18+len(g.Index)), "mig_enabled", "false",
				"mig_profile", "", "gpu_instance", "", "parent_uuid", ""), t, 1)
			w.add("jobscope_gpu_utilization_ratio", al, t, util)
			if g.SM >= 0 {
				sm, tensor := 0.1, 0.05
				if in(t) {
					sm, tensor = g.SM, g.Tensor
				}
				w.add("jobscope_gpu_sm_active_ratio", al, t, sm)
				w.add("jobscope_gpu_tensor_active_ratio", al, t, tensor)
			}
			w.add("jobscope_gpu_memory_used_bytes", al, t, mem)
			w.add("jobscope_gpu_memory_total_bytes", al, t, g.MemTotalBytes)
			w.add("jobscope_gpu_power_watts", al, t, power)
			w.add("jobscope_gpu_energy_joules_total", al, t, energy)
			up := 1.0
			if g.LostDuringJob && in(t) && t.After(j.End.Add(-3*Interval)) && t.Before(j.End) {
				up = 0
			}
			w.add("jobscope_gpu_up", al, t, up)
			if g.ECCDuringJob > 0 && !t.Before(half) {
				ecc = g.ECCDuringJob
			}
			// The agent counts each event under volatile (since the driver
			// loaded) and aggregate (the GPU's life, here 3 before).
			w.add("jobscope_gpu_ecc_errors_total", with(al, "type", "uncorrected", "counter", "volatile"), t, ecc)
			w.add("jobscope_gpu_ecc_errors_total", with(al, "type", "uncorrected", "counter", "aggregate"), t, 3+ecc)
			// The paging codes exist from 0 on every GPU; other codes
			// appear at their first event.
			if !t.Before(half) {
				xidIn = 1
			}
			for _, code := range pagingXIDs {
				c := strconv.FormatUint(code, 10)
				v := 0.0
				if c == g.XIDDuringJob {
					v = xidIn
				}
				w.add("jobscope_gpu_xid_errors_total", with(al, "xid", c), t, v)
			}
			if g.XIDDuringJob != "" && !isPaging(g.XIDDuringJob) && xidIn > 0 {
				w.add("jobscope_gpu_xid_errors_total", with(al, "xid", g.XIDDuringJob), t, xidIn)
			}
			if g.XIDBeforeJob != "" && !t.Before(j.Start.Add(-20*time.Minute)) {
				xidBefore = 1
				w.add("jobscope_gpu_xid_errors_total", with(al, "xid", g.XIDBeforeJob), t, xidBefore)
			}
			if in(t) {
				w.add("jobscope_gpu_tenant_info", with(al, "node", n.Name, "tenant", "slurm", "job_id", j.ID, "k8s_namespace", "",
					"k8s_pod", "", "k8s_container", "", "slurmd_namespace", "", "slurmd_pod", "", "source", "prolog", "gres_index", g.Index), t, 1)
			}
		})
	}
	return w.bytes()
}

// pagingXIDs are the codes whose series the agent creates at 0 on every
// GPU (gpu.PagingXIDs, docs/metrics-node.md "XID errors"); reporttest
// may not import the agent's packages (test/layout).
var pagingXIDs = []uint64{48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 154}

func isPaging(code string) bool {
	for _, c := range pagingXIDs {
		if strconv.FormatUint(c, 10) == code {
			return true
		}
	}
	return false
}

// Now is the fixture's now: the current time on the Interval grid.
func Now() time.Time { return time.Now().Truncate(Interval) }

// Start backfills the fixture at now and serves it from a real Prometheus.
func Start(t testing.TB, now time.Time) *promtest.Server {
	t.Helper()
	data := promtest.Backfill(t, OpenMetrics(now))
	return promtest.Start(t, promtest.Config{DataDir: data})
}

// Scrape starts a real Prometheus scraping one live target every second
// (job job, cluster="c"): tests of what the report reads from a page that
// changes, such as staleness markers and target health.
func Scrape(t testing.TB, job, url string) *promtest.Server {
	t.Helper()
	return promtest.Start(t, promtest.Config{Targets: []promtest.Target{
		{Job: job, URLs: []string{url}, Labels: map[string]string{"cluster": "c"}},
	}})
}
