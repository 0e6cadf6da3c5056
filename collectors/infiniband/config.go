package infiniband

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"jobscope/collectors"
	"jobscope/infiniband"
	"jobscope/internal/flagvalue"
)

// Counter sets (--infiniband.counters).
const (
	CountersDefault = "default"
	CountersAll     = "all"
)

// Config is the collector's flags.
type Config struct {
	DeviceInclude string
	DeviceExclude string
	// Counters is the base set of counter files read: CountersDefault
	// (also when empty) or CountersAll. CounterInclude adds files to it,
	// CounterExclude removes files from it.
	Counters       string
	CounterInclude string
	CounterExclude string
	// ExpectedRate and ExpectedWidth are "DEVICE_REGEX=VALUE" pairs: the
	// rate in Gb/s and the lane count a port of a matching device should
	// train at. The first matching pattern wins.
	ExpectedRate  []string
	ExpectedWidth []string
}

// AddFlags adds the collector's --infiniband.* flags to g and returns the
// Config they fill once parsed.
func AddFlags(g collectors.FlagGroup) *Config {
	c := &Config{}
	g.Flag("infiniband.device-include", "Regexp of RDMA devices (class/infiniband names) to read; empty reads all.").
		StringVar(&c.DeviceInclude)
	g.Flag("infiniband.device-exclude", "Regexp of RDMA devices to skip (applied after the include).").
		StringVar(&c.DeviceExclude)
	c.Counters = CountersDefault
	flagvalue.Named(g.Flag("infiniband.counters", "Counter files read: 'default' (traffic, the error counters the shipped alerts and dashboards read, port_xmit_wait, and mlx5's congestion and retransmission hw_counters; see docs/metrics-infiniband.md) or 'all' (every file of counters/, counters_ext/ and hw_counters/). Files not read are never opened, which saves a firmware query each.").
		Default(CountersDefault).HintOptions(CountersDefault, CountersAll), counterSetValue{&c.Counters})
	g.Flag("infiniband.counter-include", "Regexp of counter file names (counters/, counters_ext/, hw_counters/) to read in addition to --infiniband.counters, e.g. 'unicast_.*|out_of_.*'.").
		StringVar(&c.CounterInclude)
	g.Flag("infiniband.counter-exclude", "Regexp of counter file names not to read (applied after --infiniband.counters and the include).").
		StringVar(&c.CounterExclude)
	g.Flag("infiniband.expected-rate", "DEVICE_REGEX=GBPS: the rate ports of matching devices should train at, e.g. 'mlx5_[0-7]=400'; a lower rate marks the port degraded. Repeatable; the first match wins.").
		StringsVar(&c.ExpectedRate)
	g.Flag("infiniband.expected-width", "DEVICE_REGEX=LANES: the link width ports of matching devices should train at, e.g. 'mlx5_.*=4'. Repeatable; the first match wins.").
		StringsVar(&c.ExpectedWidth)
	return c
}

// counterSetValue is --infiniband.counters's value: one of the sets.
type counterSetValue struct{ s *string }

func (v counterSetValue) Set(s string) error {
	if s != CountersDefault && s != CountersAll {
		return fmt.Errorf("%q is not one of %s, %s", s, CountersDefault, CountersAll)
	}
	*v.s = s
	return nil
}

func (v counterSetValue) String() string { return *v.s }

// defaultCounters are the counter files read by default, by group: what
// the shipped rules, alerts and dashboards read, and what an on-call looks
// at first. Everything else is opt-in (--infiniband.counters=all or
// --infiniband.counter-include).
var defaultCounters = map[infiniband.Group]map[string]bool{
	infiniband.GroupCounters: set(
		// Traffic: the port and per-job byte and packet series.
		"port_rcv_data", "port_xmit_data", "port_rcv_packets", "port_xmit_packets",
		// The error counters the alerts and the dashboard read (with their
		// saturation flags): cable and transceiver, link flaps, receive
		// errors, discards, buffer overruns.
		"symbol_error", "link_error_recovery", "link_downed", "port_rcv_errors",
		"port_rcv_remote_physical_errors", "port_xmit_discards", "local_link_integrity_errors",
		"excessive_buffer_overrun_errors", "VL15_dropped",
		// Congestion: ticks with data to send and no credit.
		"port_xmit_wait"),
	// Traffic of older mlx4 kernels, whose counters/ are 32-bit.
	infiniband.GroupCountersExt: set("port_rcv_data_64", "port_xmit_data_64", "port_rcv_packets_64", "port_xmit_packets_64"),
	infiniband.GroupHWCounters: set(
		// EFA's traffic (it has no counters/).
		"rx_bytes", "tx_bytes", "rx_pkts", "tx_pkts",
		// mlx5 congestion, retransmission and receive-buffer loss: the
		// dashboard's "Congestion and retransmission" panel. On mlx5 one
		// firmware query serves every hw_counters file within its lifespan.
		"np_cnp_sent", "rp_cnp_handled", "np_ecn_marked_roce_packets", "local_ack_timeout_err",
		"packet_seq_err", "out_of_sequence", "rnr_nak_retry_err", "out_of_buffer"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// compiled is a Config checked and compiled.
type compiled struct {
	allCounters            bool
	devInclude, devExclude *regexp.Regexp
	ctrInclude, ctrExclude *regexp.Regexp
	rates                  []expectation
	widths                 []expectation
}

type expectation struct {
	device *regexp.Regexp
	value  float64
}

func (c Config) compile() (compiled, error) {
	var out compiled
	var err error
	switch c.Counters {
	case "", CountersDefault:
	case CountersAll:
		out.allCounters = true
	default:
		return out, fmt.Errorf("--infiniband.counters: %q is not one of %s, %s", c.Counters, CountersDefault, CountersAll)
	}
	for _, r := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{
		{"device-include", c.DeviceInclude, &out.devInclude},
		{"device-exclude", c.DeviceExclude, &out.devExclude},
		{"counter-include", c.CounterInclude, &out.ctrInclude},
		{"counter-exclude", c.CounterExclude, &out.ctrExclude},
	} {
		if r.expr == "" {
			continue
		}
		if *r.dst, err = anchored(r.expr); err != nil {
			return out, fmt.Errorf("--infiniband.%s: %w", r.flag, err)
		}
	}
	if out.rates, err = expectations("expected-rate", c.ExpectedRate); err != nil {
		return out, err
	}
	if out.widths, err = expectations("expected-width", c.ExpectedWidth); err != nil {
		return out, err
	}
	return out, nil
}

func anchored(expr string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + expr + ")$")
}

func expectations(flag string, specs []string) ([]expectation, error) {
	var out []expectation
	for _, s := range specs {
		// The value follows the last '=': a regexp may contain '='.
		i := strings.LastIndexByte(s, '=')
		if i <= 0 {
			return nil, fmt.Errorf("--infiniband.%s %q: want DEVICE_REGEX=VALUE", flag, s)
		}
		re, err := anchored(s[:i])
		if err != nil {
			return nil, fmt.Errorf("--infiniband.%s %q: %w", flag, s, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s[i+1:]), 64)
		if err != nil || v <= 0 || v != v {
			return nil, fmt.Errorf("--infiniband.%s %q: value must be a positive number", flag, s)
		}
		out = append(out, expectation{device: re, value: v})
	}
	return out, nil
}

func (c *compiled) device(name string) bool {
	if c.devInclude != nil && !c.devInclude.MatchString(name) {
		return false
	}
	return c.devExclude == nil || !c.devExclude.MatchString(name)
}

// counter says whether a counter file is read: in the set, or included,
// and not excluded.
func (c *compiled) counter(g infiniband.Group, name string) bool {
	in := c.allCounters || defaultCounters[g][name] || (c.ctrInclude != nil && c.ctrInclude.MatchString(name))
	return in && (c.ctrExclude == nil || !c.ctrExclude.MatchString(name))
}

func lookup(es []expectation, device string) (float64, bool) {
	for _, e := range es {
		if e.device.MatchString(device) {
			return e.value, true
		}
	}
	return 0, false
}
