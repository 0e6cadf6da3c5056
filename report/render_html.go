package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var htmlSource string

// palette colours the GPUs of a chart (index mod its length), chosen to
// stay apart for common colour blindness.
var palette = []string{"#1f77b4", "#e6550d", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"time":      fmtTime,
	"dur":       fmtDur,
	"pct":       pct,
	"bytes":     bytesStr,
	"energy":    energyStr,
	"count":     count,
	"faults":    faults,
	"upper":     strings.ToUpper,
	"statMean":  statMean,
	"statP95":   statP95,
	"optBytes":  optBytes,
	"optWatts":  func(v *float64) string { return optUnit(v, "%.0f W") },
	"optEnergy": optEnergy,
	"deref":     func(v *float64) float64 { return *v },
	"derefT":    func(v *time.Time) time.Time { return *v },
	"add":       func(d, v int) int { return v + d },
	"addf":      func(d, v float64) float64 { return v + d },
}).Parse(htmlSource))

// HTML writes a self-contained page: inline CSS and SVG, no script, no
// external resource (its Content-Security-Policy forbids both). Every
// user-controlled string goes through Clean (a newline or a bidi override
// must not reshape the page's text either) and html/template's escaping.
func HTML(w io.Writer, r *Report) error {
	r = cleaned(r)
	nodes := make([]htmlNode, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		hn := htmlNode{Node: n}
		if len(n.GPUs) > 0 {
			u, m := charts(r, n)
			hn.Charts = []*chart{u, m}
		}
		models := map[string]bool{}
		for _, g := range n.GPUs {
			if g.Model != "" {
				models[g.Model] = true
			}
		}
		hn.Models = strings.Join(sortedKeys(models), ", ")
		for i, g := range n.GPUs {
			hn.Rows = append(hn.Rows, htmlGPU{GPU: g, Color: palette[i%len(palette)]})
		}
		nodes = append(nodes, hn)
	}
	return htmlTmpl.Execute(w, struct {
		R     *Report
		Nodes []htmlNode
	}{r, nodes})
}

type htmlNode struct {
	Node
	Rows   []htmlGPU
	Charts []*chart
	Models string // the node's GPU models, named once
}

type htmlGPU struct {
	GPU
	Color string
}

// chart is one SVG line chart, laid out in Go so that the template only
// prints numbers.
type chart struct {
	Kind, Title  string // kind: utilization, memory
	W, H         int
	Right        int // the plot's right edge
	Left, Top    int
	PlotW, PlotH int
	Lines        []line
	YTicks       []tick
	XTicks       []tick
	Ref          *line // a dashed reference (memory total)
}

type line struct {
	UUID, Label, Color, Points string
	N                          int // points drawn
}

type tick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor of an x tick: the edge labels stay inside
}

const (
	chartW, chartH       = 520, 200
	chartLeft, chartTop  = 56, 26
	chartRight, chartBot = 12, 28
)

func charts(r *Report, n Node) (*chart, *chart) {
	t0, t1 := r.Window.Start, r.Window.End
	for _, g := range n.GPUs {
		if len(g.Series) > 0 {
			if g.Series[0].Time.Before(t0) {
				t0 = g.Series[0].Time
			}
		}
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	newChart := func(title string) *chart {
		c := &chart{Title: title, W: chartW, H: chartH, Left: chartLeft, Top: chartTop,
			PlotW: chartW - chartLeft - chartRight, PlotH: chartH - chartTop - chartBot, Right: chartW - chartRight}
		for i := 0; i <= 4; i++ {
			at := t0.Add(time.Duration(float64(i) / 4 * span * float64(time.Second)))
			anchor := "middle"
			switch i {
			case 0:
				anchor = "start"
			case 4:
				anchor = "end"
			}
			c.XTicks = append(c.XTicks, tick{Pos: float64(c.Left) + float64(i)/4*float64(c.PlotW), Label: at.UTC().Format("15:04"), Anchor: anchor})
		}
		return c
	}
	x := func(c *chart, t time.Time) float64 {
		return float64(c.Left) + t.Sub(t0).Seconds()/span*float64(c.PlotW)
	}
	y := func(c *chart, v, top float64) float64 {
		return float64(c.Top) + float64(c.PlotH)*(1-math.Min(math.Max(v/top, 0), 1))
	}

	util := newChart("GPU utilisation")
	util.Kind = "utilization"
	for i := 0; i <= 4; i++ {
		util.YTicks = append(util.YTicks, tick{Pos: y(util, float64(i)/4, 1), Label: fmt.Sprintf("%d%%", i*25)})
	}
	mem := newChart("GPU memory used")
	mem.Kind = "memory"
	var top float64
	for _, g := range n.GPUs {
		if g.MemoryTotalBytes != nil {
			top = math.Max(top, *g.MemoryTotalBytes)
		}
		for _, p := range g.Series {
			if p.MemoryUsedBytes != nil {
				top = math.Max(top, *p.MemoryUsedBytes)
			}
		}
	}
	if top <= 0 {
		top = 1
	}
	for i := 0; i <= 4; i++ {
		mem.YTicks = append(mem.YTicks, tick{Pos: y(mem, float64(i)/4*top, top), Label: bytesStr(float64(i) / 4 * top)})
	}
	for i, g := range n.GPUs {
		color := palette[i%len(palette)]
		label := "GPU " + g.Index
		var up, mp []string
		for _, p := range g.Series {
			if p.Utilization != nil {
				up = append(up, fmt.Sprintf("%.1f,%.1f", x(util, p.Time), y(util, *p.Utilization, 1)))
			}
			if p.MemoryUsedBytes != nil {
				mp = append(mp, fmt.Sprintf("%.1f,%.1f", x(mem, p.Time), y(mem, *p.MemoryUsedBytes, top)))
			}
		}
		util.Lines = append(util.Lines, line{UUID: g.UUID, Label: label, Color: color, Points: strings.Join(up, " "), N: len(up)})
		mem.Lines = append(mem.Lines, line{UUID: g.UUID, Label: label, Color: color, Points: strings.Join(mp, " "), N: len(mp)})
	}
	if len(n.GPUs) > 0 && n.GPUs[0].MemoryTotalBytes != nil {
		yy := y(mem, *n.GPUs[0].MemoryTotalBytes, top)
		mem.Ref = &line{Label: "total " + bytesStr(*n.GPUs[0].MemoryTotalBytes),
			Points: fmt.Sprintf("%d,%.1f %d,%.1f", mem.Left, yy, mem.Left+mem.PlotW, yy)}
	}
	return util, mem
}

// cleaned is a copy of r with every string through Clean.
func cleaned(in *Report) *Report {
	r := *in
	r.Prometheus, r.Cluster = Clean(r.Prometheus), Clean(r.Cluster)
	j := &r.Job
	for _, p := range []*string{&j.ID, &j.Name, &j.User, &j.Account, &j.Partition, &j.QOS, &j.ArrayJobID, &j.ArrayTaskID, &j.State} {
		*p = Clean(*p)
	}
	r.Missing = make([]string, len(in.Missing))
	for i, m := range in.Missing {
		r.Missing[i] = Clean(m)
	}
	r.Findings = make([]Finding, len(in.Findings))
	for i, f := range in.Findings {
		f.Node, f.GPU, f.Summary = Clean(f.Node), Clean(f.GPU), Clean(f.Summary)
		r.Findings[i] = f
	}
	r.Nodes = make([]Node, len(in.Nodes))
	for i, n := range in.Nodes {
		n.Name, n.Instance = Clean(n.Name), Clean(n.Instance)
		gpus := make([]GPU, len(n.GPUs))
		for k, g := range n.GPUs {
			g.UUID, g.Index, g.GRESIndex, g.Model = Clean(g.UUID), Clean(g.Index), Clean(g.GRESIndex), Clean(g.Model)
			xids := make([]XID, len(g.XIDs))
			for x, c := range g.XIDs {
				xids[x] = XID{Code: Clean(c.Code), Count: c.Count}
			}
			g.XIDs = xids
			gpus[k] = g
		}
		n.GPUs = gpus
		if n.InfiniBand != nil {
			ib := *n.InfiniBand
			ib.Ports = make([]IBPort, len(n.InfiniBand.Ports))
			for k, p := range n.InfiniBand.Ports {
				p.Device, p.Port, p.Attribution = Clean(p.Device), Clean(p.Port), Clean(p.Attribution)
				ib.Ports[k] = p
			}
			n.InfiniBand = &ib
		}
		r.Nodes[i] = n
	}
	return &r
}
