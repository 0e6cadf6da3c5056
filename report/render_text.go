package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Clean makes user-controlled text (job names, users, accounts) safe for a
// terminal: control and other non-graphic characters (newlines, escape
// sequences, bidi overrides) and backslashes are written as Go escapes, so
// the text cannot forge lines or recolour the terminal.
func Clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r) // 'x' with the escape inside
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// Text writes the report for a terminal.
func Text(w io.Writer, r *Report) error {
	var b bytes.Buffer
	j := r.Job
	name := "(name unknown)"
	if j.SlurmSeen {
		name = `"` + Clean(j.Name) + `"`
	}
	fmt.Fprintf(&b, "jobscope report: job %s %s\n", j.ID, name)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	if j.SlurmSeen {
		row("user", Clean(j.User))
		row("account", Clean(j.Account))
		row("partition", Clean(j.Partition)+"   qos "+Clean(j.QOS))
		if j.ArrayJobID != "" {
			row("array", Clean(j.ArrayJobID)+"_"+Clean(j.ArrayTaskID))
		}
	}
	state := Clean(j.State)
	if state == "" {
		state = "unknown"
	}
	if j.Running {
		row("state", state+" (running)")
	} else {
		row("state", "ended (last seen "+state+")")
	}
	row("start", fmtTime(j.Start))
	if j.End != nil {
		row("end", fmtTime(*j.End))
	} else {
		row("end", "running")
	}
	dur := fmtDur(j.DurationSeconds)
	if j.TimeLimitSeconds != nil {
		dur += " of a " + fmtDur(*j.TimeLimitSeconds) + " limit"
	}
	row("duration", dur)
	if j.GPUsAllocated != nil {
		row("gpus", fmt.Sprintf("%g allocated", *j.GPUsAllocated))
	}
	row("data", fmt.Sprintf("%s to %s, one point per %s", fmtTime(r.Window.Start), fmtTime(r.Window.End), fmtDur(r.Window.StepSeconds)))
	row("source", Clean(r.Prometheus)+clusterSuffix(r.Cluster))
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\nFindings\n")
	if len(r.Findings) == 0 {
		b.WriteString("  none: nothing stood out.\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %-8s %s\n", strings.ToUpper(f.Severity), Clean(f.Summary))
	}

	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "\nNode %s", Clean(n.Name))
		if n.Instance != "" {
			fmt.Fprintf(&b, " (agent %s)", Clean(n.Instance))
		}
		if n.GPUsAllocated != nil {
			fmt.Fprintf(&b, ", %g GPUs allocated by Slurm", *n.GPUsAllocated)
		}
		b.WriteString("\n")
		if len(n.GPUs) > 0 {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  gpu\tuuid\tutil mean\tp95\tsm\ttensor\tmem max\tof\tpower\tenergy\tfaults")
			for _, g := range n.GPUs {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
					Clean(g.Index), Clean(g.UUID), statMean(g.Utilization), statP95(g.Utilization),
					statMean(g.SMActive), statMean(g.TensorActive),
					optBytes(g.MemoryUsedMaxBytes), optBytes(g.MemoryTotalBytes),
					optUnit(g.PowerMeanWatts, "%.0f W"), optEnergy(g.EnergyJoules), faults(g))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if n.GPUEnergyJoules != nil {
				fmt.Fprintf(&b, "  GPU energy of the job on this node (agent's count): %s\n", energyStr(*n.GPUEnergyJoules))
			}
		} else {
			b.WriteString("  GPUs: none seen by a node agent\n")
		}
		if h := n.Host; h != nil {
			cpu := "CPU: no data"
			if h.CPUSeconds != nil {
				cpu = fmt.Sprintf("CPU: %.0f CPU-seconds", *h.CPUSeconds)
				if h.CPUs != nil {
					cpu += fmt.Sprintf(" on %g CPUs", *h.CPUs)
				}
				if h.CPUEfficiency != nil {
					cpu += fmt.Sprintf(", efficiency %s", pct(*h.CPUEfficiency))
				}
			}
			mem := "memory: no data"
			peak := h.MemoryPeakBytes
			if peak == nil {
				peak = h.MemoryUsedMaxBytes
			}
			if peak != nil {
				mem = "memory peak " + bytesStr(*peak)
				if h.MemoryLimitBytes != nil {
					mem += " of " + bytesStr(*h.MemoryLimitBytes)
				}
				if h.MemoryPeakRatio != nil {
					mem += " (" + pct(*h.MemoryPeakRatio) + ")"
				}
			}
			oom := "OOM kills: no data"
			if h.OOMKills != nil {
				oom = fmt.Sprintf("OOM kills %g", *h.OOMKills)
			}
			fmt.Fprintf(&b, "  Host: %s; %s; %s\n", cpu, mem, oom)
		} else {
			b.WriteString("  Host: no cgroup series\n")
		}
		if ib := n.InfiniBand; ib != nil {
			fmt.Fprintf(&b, "  InfiniBand: received %s (%s packets), transmitted %s (%s packets)\n",
				bytesStr(ib.ReceivedBytes), count(ib.ReceivedPackets), bytesStr(ib.TransmittedBytes), count(ib.TransmittedPackets))
			for _, p := range ib.Ports {
				fmt.Fprintf(&b, "    %s port %s (%s): received %s, transmitted %s\n", Clean(p.Device), Clean(p.Port), Clean(p.Attribution),
					bytesStr(p.ReceivedBytes), bytesStr(p.TransmittedBytes))
			}
		} else {
			b.WriteString("  InfiniBand: no per-job series\n")
		}
	}
	if len(r.Missing) > 0 {
		b.WriteString("\nMissing data\n")
		for _, m := range r.Missing {
			fmt.Fprintf(&b, "  - %s\n", Clean(m))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func clusterSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ", cluster " + Clean(c)
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func fmtDur(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%s", days, (d - days*24*time.Hour).String())
	}
	return d.String()
}

func statMean(s *Stat) string {
	if s == nil {
		return "-"
	}
	return pct(s.Mean)
}

func statP95(s *Stat) string {
	if s == nil {
		return "-"
	}
	return pct(s.P95)
}

func optBytes(v *float64) string {
	if v == nil {
		return "-"
	}
	return bytesStr(*v)
}

func optUnit(v *float64, f string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(f, *v)
}

func optEnergy(v *float64) string {
	if v == nil {
		return "-"
	}
	return energyStr(*v)
}

func energyStr(j float64) string { return fmt.Sprintf("%.2f kWh", j/3.6e6) }

func count(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1f G", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// faults is a GPU's faults in a few words, "-" when none.
func faults(g GPU) string {
	var fs []string
	for _, x := range g.XIDs {
		fs = append(fs, fmt.Sprintf("XID %s×%g", Clean(x.Code), x.Count))
	}
	if g.ECCUncorrected != nil && *g.ECCUncorrected > 0 {
		fs = append(fs, fmt.Sprintf("ECC×%g", *g.ECCUncorrected))
	}
	if g.Lost {
		fs = append(fs, "lost")
	}
	if len(fs) == 0 {
		return "-"
	}
	return strings.Join(fs, " ")
}
