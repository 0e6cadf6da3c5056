package dashboards

import (
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Tag is on every jobscope dashboard; the dashboard links list by it.
const Tag = "jobscope"

// All is every dashboard, in the order docs/dashboards.md lists them.
func All() []Dashboard {
	return []Dashboard{
		Overview(), Nodes(), Queue(), Scheduler(), Job(), Usage(), Tenants(), GPUHealth(), InfiniBand(), Self(),
	}
}

// Units (Grafana's unit ids).
const (
	UnitCount      = "short"
	UnitRatio      = "percentunit" // 0..1 shown as %
	UnitBytes      = "bytes"
	UnitBytesRate  = "Bps"
	UnitSeconds    = "s"
	UnitWatts      = "watt"
	UnitJoules     = "joule"
	UnitCelsius    = "celsius"
	UnitPerSecond  = "cps" // events per second
	UnitOpsPerSec  = "ops"
	UnitGPUHours   = "suffix: GPU·h"
	UnitOnOff      = "bool_on_off"
	UnitTimestamp  = "dateTimeFromNow"
	UnitCoresCount = "suffix: cores"
)

// Colours of thresholds.
const (
	green  = "green"
	yellow = "yellow"
	orange = "orange"
	red    = "red"
)

// Threshold sets shared by dashboards.
var (
	// Any non-zero count is a problem (lost GPUs, OOM kills, saturated counters).
	zeroOK = []Step{{0, green}, {1, red}}
	// 1 = up/answering, 0 = down.
	upDown = []Step{{0, red}, {1, green}}
	// Idle share of held GPUs.
	idleShare = []Step{{0, green}, {0.5, yellow}, {0.8, red}}
	// Share of a link or of memory in use: close to full is where jobs stall.
	nearFull = []Step{{0, green}, {0.8, yellow}, {0.95, red}}
	// A job GPU, node or link below half its job's median is a straggler
	// (the alerts' threshold).
	straggler = []Step{{0, red}, {0.5, yellow}, {0.8, green}}
)

func ptr[T any](v T) *T { return &v }

// datasourceRef points every query at the dashboard's datasource variable.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

// clusterVar selects the Prometheus `cluster` target label. Grafana cannot
// hide a variable only when it has one value: `hide` is static in the JSON.
// It stays visible (a multi-cluster site needs it); on a single-cluster
// site the label is empty, the query lists nothing and cluster="" matches
// the series that have no cluster label, so every panel still works and the
// selector is merely empty. A site that wants it gone sets hide to 2
// (hideVariable) in its copy.
var clusterVar = Var{
	Name: "cluster", Label: "cluster",
	Description: "The Prometheus `cluster` target label (empty on single-cluster sites).",
	Selector:    "jobscope_scrape_collector_success", LabelName: "cluster",
}

func commonVars() []cog.Builder[dashboard.VariableModel] {
	return []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder("datasource").
			Label("datasource").
			Type("prometheus").
			Description("The Prometheus (or compatible) datasource that scrapes jobscope and evaluates its rules."),
		clusterVar.builder(),
	}
}

// Variables are the variables of d in the order the JSON lists them.
func (d Dashboard) Variables() []Var {
	return append([]Var{clusterVar}, d.Vars...)
}

// nodeVar is Slurm's NodeName, several at once.
func nodeVar(selector string) Var {
	return Var{Name: "node", Label: "node", Multi: true, Custom: true,
		Description: "Slurm's NodeName (the node agent's `node` label).",
		Selector:    selector, LabelName: "node"}
}

// dashboardLinks lists every jobscope dashboard (by tag) in a dropdown,
// keeping the time range and the variables (datasource, cluster, ...).
func dashboardLinks() cog.Builder[dashboard.DashboardLink] {
	return dashboard.NewDashboardLinkBuilder("jobscope").
		Type(dashboard.DashboardLinkTypeDashboards).
		Tags([]string{Tag}).
		AsDropdown(true).
		IncludeVars(true).
		KeepTime(true)
}

// Data links from a table's job_id or node column to its drill-down,
// keeping the datasource, cluster and time range.
const keep = "${datasource:queryparam}&${cluster:queryparam}&${__url_time_range}"

var (
	jobLink  = Link{Title: "Job drill-down", URL: "/d/jobscope-job?var-job_id=${__data.fields.job_id}&" + keep}
	nodeLink = Link{Title: "Node", URL: "/d/jobscope-nodes?var-node=${__data.fields.node}&" + keep}
)

func thresholdsConfig(steps []Step) cog.Builder[dashboard.ThresholdsConfig] {
	out := make([]dashboard.Threshold, len(steps))
	for i, s := range steps {
		out[i] = dashboard.Threshold{Color: s.Color}
		if i > 0 {
			out[i].Value = ptr(s.Value)
		}
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Query fragments. C is the cluster matcher every selector carries.
const C = `cluster="$cluster"`

// sel writes metric{cluster="$cluster", extra...}.
func sel(metric string, extra ...string) string {
	return metric + "{" + strings.Join(append([]string{C}, extra...), ", ") + "}"
}

// slurm reads a jobscope slurm series deduplicated over exporter replicas
// (identical series but for their instance/pod target labels).
func slurm(by, metric string, extra ...string) string {
	return "max by (cluster, " + by + ") (" + sel(metric, extra...) + ")"
}

// gpuNode adds the agent's `node` to a per-GPU expression (keyed by uuid)
// and keeps the GPUs of the selected nodes. The per-GPU side may have
// several series per GPU (xid, type, reason): jobscope_gpu_info is the
// "one" side, one series per GPU.
func gpuNode(expr string) string {
	return expr + "\n  * on (cluster, uuid) group_left (node) max by (cluster, uuid, node) (" +
		sel("jobscope_gpu_info", `node=~"$node"`) + ")"
}

// agentNode adds `node` to a series the agent emits without it (per-job
// host counters, InfiniBand ports) through the agent's identity series on
// the same target, and keeps the selected nodes.
func agentNode(expr string) string {
	return expr + "\n  * on (cluster, job, instance) group_left (node) max by (cluster, job, instance, node) (" +
		sel("jobscope_node_info", `node=~"$node"`) + ")"
}

// jobGPU copies a per-GPU value onto the job's holder series (the tenant
// series is the "many" side: a shared GPU has one per holder), keeping the
// job's GPUs on the selected nodes. Raw series, not the recording rules: it
// works for any job an agent sees, also where jobscope slurm is not scraped.
func jobGPU(metric string) string {
	return "max by (cluster, uuid) (" + sel(metric) + ")\n  * on (cluster, uuid) group_right " +
		sel("jobscope_gpu_tenant_info", `tenant="slurm"`, `job_id="$job_id"`, `node=~"$node"`)
}

// jobHost adds `node` to a per-job host series of the selected job.
func jobHost(metric string) string {
	return agentNode(sel(metric, `job_id="$job_id"`))
}
