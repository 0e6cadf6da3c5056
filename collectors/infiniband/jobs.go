package infiniband

import (
	"time"

	"jobscope/infiniband"
)

// Attribution label values.
const (
	// AttributionExclusive: the job is the only one on the node, so all
	// traffic of every port is its own.
	AttributionExclusive = "exclusive"
	// AttributionSharedNearestHCA: several jobs share the node; each is
	// given the traffic of the HCA nearest its GPUs in PCIe topology, which
	// other jobs may use too: an upper bound, not an exact share.
	AttributionSharedNearestHCA = "shared-nearest-hca"
)

type jobKey struct {
	device      string
	port        uint
	attribution string
}

type jobState struct {
	gen      uint64
	counters map[jobKey]*traffic
}

// attribute adds each port's traffic growth since the last scrape to the
// jobs it is attributed to, and sends every running job's counters. A job's
// counters start at 0 when it is first seen and are forgotten when it is
// gone. A job that started after the last scrape is given the share of this
// interval's traffic that falls after its start (traffic assumed even over
// the interval); one already running when first seen (the agent restarted)
// starts from 0 at that scrape.
func (c *Collector) attribute(e *emitter, devices []infiniband.Device, now time.Time) {
	if c.jobs == nil {
		return
	}
	jobs := c.jobs()
	for _, j := range jobs {
		js, seen := c.jobState[j.ID]
		if !seen {
			js = &jobState{counters: map[jobKey]*traffic{}}
			c.jobState[j.ID] = js
		}
		js.gen = c.gen
		share := 1.0
		if !seen {
			share = firstShare(j.Start, c.lastScrape, now)
		}
		mode := AttributionExclusive
		var near map[string]bool
		if len(jobs) > 1 {
			mode = AttributionSharedNearestHCA
			near = c.nearestHCAs(j, devices)
		}
		for di := range devices {
			dev := &devices[di]
			if mode == AttributionSharedNearestHCA && !near[dev.Name] {
				continue
			}
			for pi := range dev.Ports {
				st := c.ports[portKey{dev.Name, dev.Ports[pi].Number}]
				if st == nil || !st.hasTraffic {
					continue
				}
				k := jobKey{dev.Name, dev.Ports[pi].Number, mode}
				acc := js.counters[k]
				if acc == nil {
					acc = &traffic{}
					js.counters[k] = acc
				}
				acc.rxBytes += st.delta.rxBytes * share
				acc.txBytes += st.delta.txBytes * share
				acc.rxPackets += st.delta.rxPackets * share
				acc.txPackets += st.delta.txPackets * share
			}
		}
	}
	for id, js := range c.jobState {
		if js.gen != c.gen {
			delete(c.jobState, id)
			continue
		}
		for k, t := range js.counters {
			port := portLabel(k.port)
			e.Counter(c.d.jobRxBytes, t.rxBytes, id, k.device, port, k.attribution)
			e.Counter(c.d.jobTxBytes, t.txBytes, id, k.device, port, k.attribution)
			e.Counter(c.d.jobRxPackets, t.rxPackets, id, k.device, port, k.attribution)
			e.Counter(c.d.jobTxPackets, t.txPackets, id, k.device, port, k.attribution)
		}
	}
}

// firstShare is the part of the last interval's traffic a newly seen job
// gets: the part after its start, or none when it started before the last
// scrape (its earlier traffic is unknown) or nothing is known.
func firstShare(start, last, now time.Time) float64 {
	if start.IsZero() || last.IsZero() || !now.After(last) || !start.After(last) {
		return 0
	}
	if !start.Before(now) {
		return 0
	}
	return float64(now.Sub(start)) / float64(now.Sub(last))
}

// nearestHCAs returns, for each of the job's GPUs, the RDMA device nearest
// it: (a) the one sharing the longest PCI path with it below their common
// root complex (the same PCIe switch before the same root port before the
// same root complex), else (b) one on the GPU's NUMA node, else (c) none:
// traffic of an HCA on another root complex and socket is not guessed to be
// the job's. Ties go to the first device by name (devices are in name
// order, as infiniband.Reader.Devices lists them). nil when no GPU has an HCA
// found this way.
func (c *Collector) nearestHCAs(j Job, devices []infiniband.Device) map[string]bool {
	var out map[string]bool
	for _, bus := range j.GPUPCIBusIDs {
		if bus == "" {
			continue
		}
		gpu := c.gpuPlace(bus)
		if gpu.path == "" {
			continue
		}
		best, bestScore, sameNUMA := "", 0, ""
		for i := range devices {
			name := devices[i].Name
			hca := c.devicePlace(name)
			if hca.path == "" {
				continue
			}
			if s := infiniband.SameRootComplexElements(hca.path, gpu.path); s > bestScore {
				best, bestScore = name, s
			}
			if sameNUMA == "" && gpu.numa >= 0 && hca.numa == gpu.numa {
				sameNUMA = name
			}
		}
		if best == "" {
			best = sameNUMA
		}
		if best != "" {
			if out == nil {
				out = map[string]bool{}
			}
			out[best] = true
		}
	}
	return out
}

// pciPlace is where a PCI function sits: its sysfs device path ("" when
// unknown) and NUMA node (-1 when unknown).
type pciPlace struct {
	path string
	numa int
}

func (c *Collector) gpuPlace(bus string) pciPlace {
	if p, ok := c.gpuPlaces[bus]; ok {
		return p
	}
	p := pciPlace{numa: -1}
	if path, err := c.fs.PCIDevicePath(bus); err == nil {
		p = pciPlace{path: path, numa: c.fs.NUMANode(path)}
	}
	// Otherwise not in this sysfs (a GPU the node agent knows only from a
	// prolog file, or a test tree without it): the job gets no shared
	// attribution for it. Cached so the lookup is not repeated.
	if len(c.gpuPlaces) > 1024 {
		clear(c.gpuPlaces) // bounded: bus ids come from outside
	}
	c.gpuPlaces[bus] = p
	return p
}
