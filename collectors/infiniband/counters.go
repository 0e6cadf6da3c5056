package infiniband

import (
	"jobscope/infiniband"
)

type portKey struct {
	device string
	port   uint
}

// portState is what the collector remembers of a port between scrapes.
type portState struct {
	label    string // the port number as a label value
	gen      uint64 // last scrape that saw the port
	counters map[counterKey]*counterState
	resets   uint64
	// traffic is the port's monotonic traffic at the last scrape, the
	// base of the per-job deltas; hasTraffic is false before the first.
	traffic    traffic
	hasTraffic bool
	// delta is the traffic growth between the last two scrapes.
	delta traffic
}

// counterState turns a raw counter, which a reset sets back to 0, into a
// total that only grows.
type counterState struct {
	last  uint64 // raw value at the last read
	total uint64 // monotonic total, in the counter's raw unit
}

// traffic is a port's data and packet totals, in octets and packets.
type traffic struct {
	rxBytes, txBytes, rxPackets, txPackets float64
}

func (c *Collector) portState(device string, port uint) *portState {
	k := portKey{device, port}
	st, ok := c.ports[k]
	if !ok {
		st = &portState{label: portLabel(port), counters: map[counterKey]*counterState{}}
		c.ports[k] = st
	}
	st.gen = c.gen
	return st
}

// sweep forgets the ports and devices this scrape did not see (a device
// removed, or filtered out since).
func (c *Collector) sweep(devices []infiniband.Device) {
	for k, st := range c.ports {
		if st.gen != c.gen {
			delete(c.ports, k)
		}
	}
	seen := make(map[string]bool, len(devices))
	for i := range devices {
		seen[devices[i].Name] = true
	}
	for name := range c.devPlaces {
		if !seen[name] {
			delete(c.devPlaces, name)
		}
	}
}

// observe folds a raw reading into the counter's total and returns it. The
// PMA counters saturate rather than wrap, and the 64-bit ones do not wrap in
// practice, so a decrease can only be a reset: the counter restarted from
// 0 and everything it counted since is new.
func (st *portState) observe(k counterKey, raw uint64) uint64 {
	cs, ok := st.counters[k]
	if !ok {
		// First sight: the total is what the hardware has counted so far,
		// as every other exporter reports it.
		st.counters[k] = &counterState{last: raw, total: raw}
		return raw
	}
	if raw >= cs.last {
		cs.total += raw - cs.last
	} else {
		cs.total += raw
		st.resets++
	}
	cs.last = raw
	return cs.total
}

func (c *Collector) emitCounters(e *emitter, dev string, st *portState, p *infiniband.Port) {
	dataBits := p.DataBits()
	for i := range p.Counters {
		ctr := &p.Counters[i]
		k := counterKey{ctr.Group, ctr.Name}
		if ctr.Group == infiniband.GroupHWCounters && ctr.Name == "lifespan" {
			// Not a counter: the driver's cache period, in milliseconds.
			e.Gauge(c.d.lifespan, float64(ctr.Value)/1000, dev, st.label)
			continue
		}
		spec := p.Spec(ctr.Group, ctr.Name, dataBits)
		total := float64(st.observe(k, ctr.Value))
		if spec.Words {
			total *= 4
		}
		f := c.d.family(k)
		if f.generic {
			e.Counter(f.desc, total, dev, st.label, ctr.Name)
		} else {
			e.Counter(f.desc, total, dev, st.label)
		}
		if spec.Bits < 64 {
			max := uint64(1)<<spec.Bits - 1
			e.Gauge(c.d.saturated, b2f(ctr.Value >= max), dev, st.label, ctr.Name)
		}
	}
	e.Counter(c.d.resets, float64(st.resets), dev, st.label)
	st.trafficNow(p, dataBits)
}

// trafficNow records the port's traffic totals and their growth since the
// last scrape, the base of the per-job counters. The data counters come
// from counters/ when they are 64-bit there, else from counters_ext/ where
// an old kernel has it, else from the 32-bit counters/ anyway; EFA has only
// hw_counters/rx_bytes and tx_bytes (in octets) and rx_pkts and tx_pkts. A
// value unreadable in this scrape keeps its last total: its growth shows up
// in the next scrape that reads it.
func (st *portState) trafficNow(p *infiniband.Port, dataBits uint8) {
	order := func(ctr, ext, hw string) [3]counterKey {
		ks := [3]counterKey{{infiniband.GroupCountersExt, ext}, {infiniband.GroupCounters, ctr}, {infiniband.GroupHWCounters, hw}}
		if dataBits == 64 {
			ks[0], ks[1] = ks[1], ks[0]
		}
		return ks
	}
	update := func(dst *float64, ks [3]counterKey) bool {
		for _, k := range ks {
			if _, ok := p.Counter(k.group, k.name); !ok {
				continue
			}
			v := float64(st.counters[k].total)
			if infiniband.IsWords(k.group, k.name) {
				v *= 4
			}
			*dst = v
			return true
		}
		return false
	}
	prev, had := st.traffic, st.hasTraffic
	t := prev
	any := update(&t.rxBytes, order("port_rcv_data", "port_rcv_data_64", "rx_bytes"))
	any = update(&t.txBytes, order("port_xmit_data", "port_xmit_data_64", "tx_bytes")) || any
	any = update(&t.rxPackets, order("port_rcv_packets", "port_rcv_packets_64", "rx_pkts")) || any
	any = update(&t.txPackets, order("port_xmit_packets", "port_xmit_packets_64", "tx_pkts")) || any
	st.delta = traffic{}
	if !any {
		return
	}
	st.traffic, st.hasTraffic = t, true
	if had {
		st.delta = traffic{
			rxBytes:   nonNegative(t.rxBytes - prev.rxBytes),
			txBytes:   nonNegative(t.txBytes - prev.txBytes),
			rxPackets: nonNegative(t.rxPackets - prev.rxPackets),
			txPackets: nonNegative(t.txPackets - prev.txPackets),
		}
	}
}

// nonNegative guards the per-job counters when a port's data source
// changes (a counters_ext file appearing or vanishing): totals of
// different counters are not comparable, and a job counter must not drop.
func nonNegative(v float64) float64 {
	if v < 0 {
		return 0
	}
	return v
}
