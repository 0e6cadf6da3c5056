// Package report builds `jobscope report JOBID`: what one Slurm job did with
// the GPUs, fabric, CPUs and memory it held, read back from Prometheus, with
// plain-language findings and their numbers, rendered as text, JSON or a
// self-contained HTML page.
//
// It queries raw jobscope series (no recording rules needed), so it works on
// any Prometheus that scraped `jobscope slurm` and `jobscope node`. The steps
// are separate: query.go finds the job and fetches its series, model.go is
// the result (and the JSON schema), findings.go judges it, and render_*.go
// print it. Rendering starts only once every query has succeeded, so no
// output is ever partial.
package report

import "time"

// SchemaVersion is the JSON output's version; it changes only when a field
// is removed or changes meaning (fields may be added).
const SchemaVersion = 1

// Report is everything known about one job. Pointers are nil (JSON null)
// where the data is absent: a missing series is never shown as a zero.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Prometheus    string    `json:"prometheus"` // URL, credentials removed
	Cluster       string    `json:"cluster"`    // the --cluster asked for, or the one the job was found in
	Job           Job       `json:"job"`
	Window        Window    `json:"window"`
	Nodes         []Node    `json:"nodes"`
	// Missing says, in words, which kinds of data Prometheus had none of
	// for this job (no GPUs, no InfiniBand, no cgroup series, ...).
	Missing  []string  `json:"missing"`
	Findings []Finding `json:"findings"`
}

// Job is the job's identity and times, from jobscope_slurm_job_* (the
// cluster exporter) where Prometheus has them.
type Job struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	User        string `json:"user"`
	Account     string `json:"account"`
	Partition   string `json:"partition"`
	QOS         string `json:"qos"`
	ArrayJobID  string `json:"array_job_id"`
	ArrayTaskID string `json:"array_task_id"`
	// State is the last Slurm state the cluster exporter reported (it
	// exports running jobs only, so an ended job's is its last running one).
	State   string     `json:"state"`
	Running bool       `json:"running"`
	Start   time.Time  `json:"start"`
	End     *time.Time `json:"end"` // null while running
	// DurationSeconds is end (or now, while running) minus start.
	DurationSeconds  float64  `json:"duration_seconds"`
	TimeLimitSeconds *float64 `json:"time_limit_seconds"`
	GPUsAllocated    *float64 `json:"gpus_allocated"`
	// SlurmSeen is false when no jobscope_slurm_job_info series was found
	// (the identity fields are then empty).
	SlurmSeen bool `json:"slurm_seen"`
}

// Window is the time range the numbers cover: the first to the last sample
// of the job's series, and the step of the per-point series.
type Window struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	StepSeconds float64   `json:"step_seconds"`
	// RangeSeconds is the range each point aggregates (avg/max_over_time):
	// the step, but at least two minutes so that a point always holds a
	// sample at common scrape intervals.
	RangeSeconds float64 `json:"range_seconds"`
}

// Node is one node the job ran on.
type Node struct {
	Name     string `json:"name"`
	Instance string `json:"instance"` // the node agent's scrape target, empty when none was seen
	// GPUsAllocated is what Slurm says the job holds here
	// (jobscope_slurm_job_node_gpus), null when the exporter did not say.
	GPUsAllocated *float64 `json:"gpus_allocated"`
	GPUs          []GPU    `json:"gpus"`
	// GPUEnergyJoules is jobscope_job_gpu_energy_joules_total's increase:
	// the agent's own per-job sum over the job's GPUs.
	GPUEnergyJoules *float64    `json:"gpu_energy_joules"`
	Host            *Host       `json:"host"`       // null: no cgroup series
	InfiniBand      *InfiniBand `json:"infiniband"` // null: no per-job InfiniBand series
}

// Stat summarises a gauge over the window.
type Stat struct {
	Mean float64 `json:"mean"`
	P95  float64 `json:"p95"`
	Max  float64 `json:"max"`
}

// GPU is one GPU (or MIG instance) the job held.
type GPU struct {
	UUID      string `json:"uuid"`
	Index     string `json:"index"`      // NVML/DCGM index, for people
	GRESIndex string `json:"gres_index"` // Slurm's, when the prolog named it
	Model     string `json:"model"`

	Utilization  *Stat `json:"utilization"` // ratio 0..1
	SMActive     *Stat `json:"sm_active"`
	TensorActive *Stat `json:"tensor_active"`

	MemoryUsedMaxBytes *float64 `json:"memory_used_max_bytes"`
	MemoryTotalBytes   *float64 `json:"memory_total_bytes"`
	// MemoryUsedMaxRatio is MemoryUsedMaxBytes / MemoryTotalBytes.
	MemoryUsedMaxRatio *float64 `json:"memory_used_max_ratio"`
	PowerMeanWatts     *float64 `json:"power_mean_watts"`
	EnergyJoules       *float64 `json:"energy_joules"`

	// XIDs are the XID codes whose counter rose during the job, with how
	// many events; ECCUncorrected the uncorrectable ECC errors.
	XIDs           []XID    `json:"xids"`
	ECCUncorrected *float64 `json:"ecc_uncorrected"`
	// Lost is true when jobscope_gpu_up was 0 at some point of the job.
	Lost bool `json:"lost"`

	// Series holds the per-point values the charts draw.
	Series []Point `json:"series"`
}

// XID is one XID code seen during the job.
type XID struct {
	Code  string  `json:"code"`
	Count float64 `json:"count"`
}

// Point is one step of a GPU's series; a value is null when absent.
type Point struct {
	Time            time.Time `json:"time"`
	Utilization     *float64  `json:"utilization"`
	MemoryUsedBytes *float64  `json:"memory_used_bytes"`
}

// Host is the job's cgroup on one node.
type Host struct {
	CPUSeconds *float64 `json:"cpu_seconds"`
	CPUs       *float64 `json:"cpus"`
	// CPUEfficiency is CPUSeconds / (CPUs × the window's seconds).
	CPUEfficiency      *float64 `json:"cpu_efficiency"`
	MemoryUsedMaxBytes *float64 `json:"memory_used_max_bytes"`
	MemoryPeakBytes    *float64 `json:"memory_peak_bytes"`
	MemoryLimitBytes   *float64 `json:"memory_limit_bytes"`
	// MemoryPeakRatio is the peak (or the largest use seen, when the
	// kernel gives no peak) over the limit.
	MemoryPeakRatio *float64 `json:"memory_peak_ratio"`
	OOMKills        *float64 `json:"oom_kills"`
}

// InfiniBand is the job's fabric traffic on one node, summed over ports.
type InfiniBand struct {
	Traffic
	Ports []IBPort `json:"ports"`
}

// IBPort is one port's share.
type IBPort struct {
	Device      string `json:"device"`
	Port        string `json:"port"`
	Attribution string `json:"attribution"`
	Traffic
}

// Traffic is what the job sent and received over the fabric during the
// window; embedded, its fields stand in the JSON beside the others.
type Traffic struct {
	ReceivedBytes      float64 `json:"received_bytes"`
	TransmittedBytes   float64 `json:"transmitted_bytes"`
	ReceivedPackets    float64 `json:"received_packets"`
	TransmittedPackets float64 `json:"transmitted_packets"`
}

// Finding is one plain-language conclusion and the numbers behind it.
type Finding struct {
	Kind     string `json:"kind"`     // stable identifier, see docs/report.md
	Severity string `json:"severity"` // info, warning, critical
	Node     string `json:"node,omitempty"`
	GPU      string `json:"gpu,omitempty"` // UUID
	Summary  string `json:"summary"`
	// Values are the numbers behind the finding, by name.
	Values map[string]float64 `json:"values"`
}
