// Package dashboards defines jobscope's Grafana dashboards in Go and builds
// them through the Grafana Foundation SDK. Each dashboard is a short file
// (overview.go, job.go, ...) of plain definitions: panels with their
// queries, unit, description and thresholds. blocks.go holds what they share
// (variables, links, thresholds, query fragments); this file turns a
// definition into the SDK's dashboard.
//
// `go generate ./dashboards` (make generate) writes each dashboard as JSON
// into dashboards/json/ and the panel tables of docs/dashboards.md; tests
// fail when the committed files differ from what the definitions give.
package dashboards

//go:generate go run ./gen

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Kind is the visualisation of a panel.
type Kind int

const (
	TimeSeries Kind = iota
	Stat
	Table
)

func (k Kind) String() string {
	return [...]string{"time series", "stat", "table"}[k]
}

// Dashboard is one dashboard's definition.
type Dashboard struct {
	// Name is the file name (json/<Name>.json) and the uid's suffix:
	// the uid is "jobscope-<Name>", stable so links and OnDemand keep working.
	Name        string
	Title       string
	Description string
	// Vars are the dashboard's own variables, after datasource and cluster.
	Vars []Var
	Rows []Row
}

// UID is the dashboard's stable uid.
func (d Dashboard) UID() string { return "jobscope-" + d.Name }

// Row groups panels under a heading.
type Row struct {
	Title  string
	Panels []Panel
}

// Panel is one panel. ID is stable: links and Open OnDemand embed panels by
// dashboard uid and panel id, so a panel keeps its ID when panels move.
type Panel struct {
	ID    uint32
	Title string
	// Description says which question the panel answers (shown as the
	// panel's tooltip and in docs/dashboards.md).
	Description string
	Kind        Kind
	Unit        string
	Queries     []Query
	// Thresholds colour values where an on-call acts; nil for none.
	Thresholds []Step
	Min, Max   *float64
	// Width in grid columns (of 24) and height in rows; 0 for the defaults.
	Width, Height uint32
	// Links are data links on the panel's values (tables: a job or node
	// cell opens its drill-down).
	Links []Link
	// Overrides set a unit per table column (by field name).
	Overrides map[string]string
	// Stack draws time series stacked.
	Stack bool
}

// Query is one PromQL query of a panel. Instant queries give tables and
// stats one row per series.
type Query struct {
	Expr    string
	Legend  string
	Instant bool
}

// Step is a threshold: from Value upwards the colour is Color. The first
// step of a panel is the base colour (its Value is ignored).
type Step struct {
	Value float64
	Color string
}

// Link is a data link.
type Link struct {
	Title, URL string
}

// Var is a query variable: its values are label_values(Selector, Label).
type Var struct {
	Name, Label, Description string
	Selector, LabelName      string
	// Multi allows several values (and All, matching every value with
	// AllValue ".*"): queries match it with =~.
	Multi bool
	// Custom lets a value that the query does not list be typed in (a job
	// ID that has ended, or one OnDemand passes).
	Custom bool
}

// Query returns the variable's query in Grafana's Prometheus syntax.
func (v Var) Query() string { return fmt.Sprintf("label_values(%s, %s)", v.Selector, v.LabelName) }

const (
	defaultWidth  = 12
	defaultHeight = 8
)

// Build builds the dashboard through the SDK.
func (d Dashboard) Build() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder(d.Title).
		Uid(d.UID()).
		Description(d.Description).
		Tags([]string{Tag}).
		Editable().
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboardLinks())
	for _, v := range commonVars() {
		b.WithVariable(v)
	}
	for _, v := range d.Vars {
		b.WithVariable(v.builder())
	}
	for _, r := range d.Rows {
		b.WithRow(dashboard.NewRowBuilder(r.Title))
		for _, p := range r.Panels {
			pb, err := p.builder()
			if err != nil {
				return dashboard.Dashboard{}, fmt.Errorf("%s: panel %d %q: %w", d.UID(), p.ID, p.Title, err)
			}
			b.WithPanel(pb)
		}
	}
	out, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("%s: %w", d.UID(), err)
	}
	return out, nil
}

// JSON is the dashboard as Grafana imports it, indented, with a final newline.
func (d Dashboard) JSON() ([]byte, error) {
	db, err := d.Build()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Panels lists every panel of the dashboard in order.
func (d Dashboard) Panels() []Panel {
	var out []Panel
	for _, r := range d.Rows {
		out = append(out, r.Panels...)
	}
	return out
}

func (v Var) builder() cog.Builder[dashboard.VariableModel] {
	q := v.Query()
	b := dashboard.NewQueryVariableBuilder(v.Name).
		Label(v.Label).
		Description(v.Description).
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: &q}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortNaturalAsc).
		AllowCustomValue(v.Custom)
	if v.Multi {
		b.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return b
}

// panelOptions are the parts of a panel every kind's builder takes the same
// way.
type panelOptions struct {
	Width, Height uint32
	Targets       []cog.Builder[variants.Dataquery]
	Links         []cog.Builder[dashboard.DashboardLink]
	Overrides     []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]
}

// kindBuilder is the setters the SDK generates, alike, on each panel kind's
// builder (timeseries, stat, table), each returning that builder.
type kindBuilder[B any] interface {
	Id(uint32) B
	Title(string) B
	Description(string) B
	Datasource(common.DataSourceRef) B
	Unit(string) B
	Span(uint32) B
	Height(uint32) B
	Targets([]cog.Builder[variants.Dataquery]) B
	Min(float64) B
	Max(float64) B
	DataLinks([]cog.Builder[dashboard.DashboardLink]) B
	Overrides([]cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]) B
}

// withOptions sets on b what every panel kind shares: identity, text,
// data source, unit, size, queries, axis bounds, links and overrides.
func withOptions[B kindBuilder[B]](b B, p Panel, o panelOptions) B {
	b.Id(p.ID).Title(p.Title).Description(p.Description).Datasource(datasourceRef()).
		Unit(p.Unit).Span(o.Width).Height(o.Height).Targets(o.Targets)
	if p.Min != nil {
		b.Min(*p.Min)
	}
	if p.Max != nil {
		b.Max(*p.Max)
	}
	if o.Links != nil {
		b.DataLinks(o.Links)
	}
	b.Overrides(o.Overrides)
	return b
}

// panelBuilder is what the three panel kinds' builders have in common.
type panelBuilder interface {
	cog.Builder[dashboard.Panel]
}

func (p Panel) builder() (panelBuilder, error) {
	w, h := p.Width, p.Height
	if w == 0 {
		w = defaultWidth
	}
	if h == 0 {
		h = defaultHeight
	}
	var targets []cog.Builder[variants.Dataquery]
	for i, q := range p.Queries {
		qb := prometheus.NewDataqueryBuilder().
			Expr(q.Expr).
			LegendFormat(q.Legend).
			RefId(string(rune('A' + i))).
			Datasource(datasourceRef())
		if q.Instant || p.Kind == Table {
			qb.Instant().Format(prometheus.PromQueryFormatTable)
		} else {
			qb.Range()
		}
		targets = append(targets, qb)
	}
	var links []cog.Builder[dashboard.DashboardLink]
	for _, l := range p.Links {
		links = append(links, dashboard.NewDashboardLinkBuilder(l.Title).
			Type(dashboard.DashboardLinkTypeLink).Url(l.URL))
	}
	var thresholds cog.Builder[dashboard.ThresholdsConfig]
	if len(p.Thresholds) > 0 {
		thresholds = thresholdsConfig(p.Thresholds)
	}
	var overrides []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]
	for _, name := range sortedKeys(p.Overrides) {
		overrides = append(overrides, dashboard.NewDashboardFieldConfigSourceOverridesBuilder().
			Matcher(dashboard.MatcherConfig{Id: "byName", Options: name}).
			Properties([]dashboard.DynamicConfigValue{{Id: "unit", Value: p.Overrides[name]}}))
	}

	o := panelOptions{Width: w, Height: h, Targets: targets, Links: links, Overrides: overrides}
	switch p.Kind {
	case TimeSeries:
		b := withOptions(timeseries.NewPanelBuilder(), p, o).FillOpacity(10).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
				DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).
				Calcs([]string{"lastNotNull", "max"}))
		if p.Stack {
			b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
		}
		if thresholds != nil {
			b.Thresholds(thresholds).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().
				Mode(common.GraphThresholdsStyleModeDashed))
		}
		return b, nil
	case Stat:
		b := withOptions(stat.NewPanelBuilder(), p, o).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
			ColorMode(common.BigValueColorModeValue).
			GraphMode(common.BigValueGraphModeNone)
		if thresholds != nil {
			b.Thresholds(thresholds).ColorMode(common.BigValueColorModeBackground)
		}
		return b, nil
	case Table:
		b := withOptions(table.NewPanelBuilder(), p, o).Filterable(true).
			// The SDK's default footer has a null reducer, which its own
			// strict decoder refuses: set one (the footer stays hidden).
			Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
		// Instant table queries give one frame per query: merge joins
		// them on their common labels, organize drops the time column.
		if len(p.Queries) > 1 {
			b.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}})
		}
		b.WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
		}})
		if thresholds != nil {
			b.Thresholds(thresholds).CellOptions(common.TableCellOptions{
				TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
					Type: "color-background",
				},
			})
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown panel kind %d", p.Kind)
}
