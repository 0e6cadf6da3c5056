package infiniband

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"jobscope/collectors"
)

// Config is the collector's flags.
type Config struct {
	DeviceInclude  string
	DeviceExclude  string
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
	g.Flag("infiniband.counter-include", "Regexp of counter file names (counters/, counters_ext/, hw_counters/) to read; empty reads all. Skipped files are never opened, which saves a firmware query each.").
		StringVar(&c.CounterInclude)
	g.Flag("infiniband.counter-exclude", "Regexp of counter file names to skip (applied after the include).").
		StringVar(&c.CounterExclude)
	g.Flag("infiniband.expected-rate", "DEVICE_REGEX=GBPS: the rate ports of matching devices should train at, e.g. 'mlx5_[0-7]=400'; a lower rate marks the port degraded. Repeatable; the first match wins.").
		StringsVar(&c.ExpectedRate)
	g.Flag("infiniband.expected-width", "DEVICE_REGEX=LANES: the link width ports of matching devices should train at, e.g. 'mlx5_.*=4'. Repeatable; the first match wins.").
		StringsVar(&c.ExpectedWidth)
	return c
}

// compiled is a Config checked and compiled.
type compiled struct {
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

func (c *compiled) counter(name string) bool {
	if c.ctrInclude != nil && !c.ctrInclude.MatchString(name) {
		return false
	}
	return c.ctrExclude == nil || !c.ctrExclude.MatchString(name)
}

func lookup(es []expectation, device string) (float64, bool) {
	for _, e := range es {
		if e.device.MatchString(device) {
			return e.value, true
		}
	}
	return 0, false
}
