package report

import (
	"fmt"
	"sort"
)

// Thresholds of the findings (docs/report.md explains each).
const (
	IdleUtilization    = 0.05 // mean GPU utilisation below: idle
	LowUtilization     = 0.30 // mean GPU utilisation below: low
	MemoryPressure     = 0.95 // GPU memory used over total above: pressure
	ImbalanceShare     = 0.50 // below this share of the job's median: lags
	CPUBoundEfficiency = 0.90 // host CPU efficiency above, with GPUs idle or low: CPU-bound
	HostMemoryBound    = 0.95 // host memory peak over limit above, with GPUs idle or low
)

// Judge derives the findings from the report's numbers, most severe first.
func Judge(r *Report) []Finding {
	out := []Finding{}
	add := func(f Finding) { out = append(out, f) }

	// Per GPU: idle, low, memory pressure, faults.
	var gpuMeans []float64
	for _, n := range r.Nodes {
		for _, g := range n.GPUs {
			if g.Utilization != nil {
				gpuMeans = append(gpuMeans, g.Utilization.Mean)
			}
		}
	}
	median := medianOf(gpuMeans)
	for _, n := range r.Nodes {
		for _, g := range n.GPUs {
			who := gpuName(n.Name, g)
			if u := g.Utilization; u != nil {
				switch {
				case u.Mean < IdleUtilization:
					add(Finding{Kind: "idle_gpu", Severity: "warning", Node: n.Name, GPU: g.UUID,
						Summary: fmt.Sprintf("%s was held but idle: mean utilisation %s (max %s), below %s.", who, pct(u.Mean), pct(u.Max), pct(IdleUtilization)),
						Values:  map[string]float64{"utilization_mean": u.Mean, "utilization_max": u.Max, "threshold": IdleUtilization}})
				case u.Mean < LowUtilization:
					add(Finding{Kind: "low_utilization", Severity: "info", Node: n.Name, GPU: g.UUID,
						Summary: fmt.Sprintf("%s was busy only %s of the time on average (p95 %s), below %s.", who, pct(u.Mean), pct(u.P95), pct(LowUtilization)),
						Values:  map[string]float64{"utilization_mean": u.Mean, "utilization_p95": u.P95, "threshold": LowUtilization}})
				}
				// A GPU lagging the job's typical GPU (idle ones are said above).
				if len(gpuMeans) > 1 && median >= IdleUtilization && u.Mean >= IdleUtilization && u.Mean < ImbalanceShare*median {
					add(Finding{Kind: "gpu_imbalance", Severity: "warning", Node: n.Name, GPU: g.UUID,
						Summary: fmt.Sprintf("%s lags the rest of the job: mean utilisation %s against the job's median GPU %s (%s of it, below %s): a straggler slows every synchronous step.", who, pct(u.Mean), pct(median), pct(u.Mean/median), pct(ImbalanceShare)),
						Values:  map[string]float64{"utilization_mean": u.Mean, "job_median_utilization": median, "share_of_median": u.Mean / median, "threshold": ImbalanceShare}})
				}
			}
			if g.MemoryUsedMaxRatio != nil && *g.MemoryUsedMaxRatio > MemoryPressure {
				add(Finding{Kind: "gpu_memory_pressure", Severity: "warning", Node: n.Name, GPU: g.UUID,
					Summary: fmt.Sprintf("%s memory was nearly full: %s of %s used at most (%s, above %s); the job risks out-of-memory errors.", who, bytesStr(*g.MemoryUsedMaxBytes), bytesStr(*g.MemoryTotalBytes), pct(*g.MemoryUsedMaxRatio), pct(MemoryPressure)),
					Values:  map[string]float64{"memory_used_max_bytes": *g.MemoryUsedMaxBytes, "memory_total_bytes": *g.MemoryTotalBytes, "ratio": *g.MemoryUsedMaxRatio, "threshold": MemoryPressure}})
			}
			for _, x := range g.XIDs {
				add(Finding{Kind: "xid", Severity: "critical", Node: n.Name, GPU: g.UUID,
					Summary: fmt.Sprintf("%s reported XID %s %g time(s) during the job (see NVIDIA's XID catalogue; the job may have failed or slowed because of it).", who, x.Code, x.Count),
					Values:  map[string]float64{"count": x.Count}})
			}
			if g.ECCUncorrected != nil && *g.ECCUncorrected > 0 {
				add(Finding{Kind: "ecc_uncorrected", Severity: "critical", Node: n.Name, GPU: g.UUID,
					Summary: fmt.Sprintf("%s had %g uncorrectable ECC error(s) during the job: its results may be wrong and the GPU needs a reset or service.", who, *g.ECCUncorrected),
					Values:  map[string]float64{"count": *g.ECCUncorrected}})
			}
			if g.Lost {
				add(Finding{Kind: "gpu_lost", Severity: "critical", Node: n.Name, GPU: g.UUID,
					Summary: fmt.Sprintf("%s stopped answering (jobscope_gpu_up 0) during the job: the GPU was lost.", who),
					Values:  map[string]float64{"up_min": 0}})
			}
		}
	}

	// Per node: host side when GPUs wait, OOM kills, imbalance between nodes.
	var nodeMeans, nodeIB []float64
	for _, n := range r.Nodes {
		if m, ok := nodeUtil(n); ok {
			nodeMeans = append(nodeMeans, m)
		}
		if n.InfiniBand != nil {
			nodeIB = append(nodeIB, n.InfiniBand.ReceivedBytes+n.InfiniBand.TransmittedBytes)
		}
	}
	nodeMedian, ibMedian := medianOf(nodeMeans), medianOf(nodeIB)
	for _, n := range r.Nodes {
		waiting := 0 // GPUs idle or low here
		for _, g := range n.GPUs {
			if g.Utilization != nil && g.Utilization.Mean < LowUtilization {
				waiting++
			}
		}
		if h := n.Host; h != nil {
			if waiting > 0 && h.CPUEfficiency != nil && *h.CPUEfficiency > CPUBoundEfficiency {
				add(Finding{Kind: "cpu_bound", Severity: "warning", Node: n.Name,
					Summary: fmt.Sprintf("On %s, %d GPU(s) were idle or under %s while the job's %g CPUs were %s busy (above %s): the job looks CPU-bound there (data loading, preprocessing).", n.Name, waiting, pct(LowUtilization), *h.CPUs, pct(*h.CPUEfficiency), pct(CPUBoundEfficiency)),
					Values:  map[string]float64{"cpu_efficiency": *h.CPUEfficiency, "cpus": *h.CPUs, "gpus_waiting": float64(waiting), "threshold": CPUBoundEfficiency}})
			}
			if waiting > 0 && h.MemoryPeakRatio != nil && *h.MemoryPeakRatio > HostMemoryBound {
				add(Finding{Kind: "host_memory_bound", Severity: "warning", Node: n.Name,
					Summary: fmt.Sprintf("On %s, %d GPU(s) were idle or under %s while the job's host memory peaked at %s of its limit (above %s): the job looks memory-bound there (swapping, reclaim).", n.Name, waiting, pct(LowUtilization), pct(*h.MemoryPeakRatio), pct(HostMemoryBound)),
					Values:  map[string]float64{"memory_peak_ratio": *h.MemoryPeakRatio, "gpus_waiting": float64(waiting), "threshold": HostMemoryBound}})
			}
			if h.OOMKills != nil && *h.OOMKills > 0 {
				add(Finding{Kind: "oom_kill", Severity: "critical", Node: n.Name,
					Summary: fmt.Sprintf("On %s the kernel killed %g process(es) of the job for lack of memory (cgroup OOM).", n.Name, *h.OOMKills),
					Values:  map[string]float64{"oom_kills": *h.OOMKills}})
			}
		}
		if m, ok := nodeUtil(n); ok && len(nodeMeans) > 1 && nodeMedian >= IdleUtilization && m < ImbalanceShare*nodeMedian {
			add(Finding{Kind: "node_imbalance", Severity: "warning", Node: n.Name,
				Summary: fmt.Sprintf("Node %s lags the job's other nodes: mean GPU utilisation %s against the median node %s (below %s of it).", n.Name, pct(m), pct(nodeMedian), pct(ImbalanceShare)),
				Values:  map[string]float64{"utilization_mean": m, "job_median_utilization": nodeMedian, "threshold": ImbalanceShare}})
		}
		if n.InfiniBand != nil && len(nodeIB) > 1 && ibMedian > 0 {
			b := n.InfiniBand.ReceivedBytes + n.InfiniBand.TransmittedBytes
			if b < ImbalanceShare*ibMedian {
				add(Finding{Kind: "infiniband_imbalance", Severity: "warning", Node: n.Name,
					Summary: fmt.Sprintf("Node %s moved less InfiniBand traffic than the job's other nodes: %s against the median node %s (below %s of it).", n.Name, bytesStr(b), bytesStr(ibMedian), pct(ImbalanceShare)),
					Values:  map[string]float64{"bytes": b, "job_median_bytes": ibMedian, "threshold": ImbalanceShare}})
			}
		}
	}
	rank := map[string]int{"critical": 0, "warning": 1, "info": 2}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Severity] < rank[out[j].Severity] })
	return out
}

// nodeUtil is a node's mean GPU utilisation over its GPUs.
func nodeUtil(n Node) (float64, bool) {
	var sum float64
	var c int
	for _, g := range n.GPUs {
		if g.Utilization != nil {
			sum += g.Utilization.Mean
			c++
		}
	}
	if c == 0 {
		return 0, false
	}
	return sum / float64(c), true
}

func medianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// gpuName names a GPU for people: node, index and the UUID's start.
func gpuName(node string, g GPU) string {
	short := g.UUID
	if len(short) > 12 {
		short = short[:12] + "…"
	}
	return fmt.Sprintf("GPU %s on %s (%s)", g.Index, node, short)
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// bytesStr prints bytes in binary units.
func bytesStr(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
