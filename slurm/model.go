package slurm

import "time"

// Snapshot is one poll's immutable view of the cluster. The poller builds a
// new one each interval and swaps it in atomically; collectors only read it.
// A resource whose request failed keeps the value of the previous snapshot and
// its error is recorded in Errors, so one failing endpoint never blanks others.
type Snapshot struct {
	// Taken is when the poll that produced this snapshot finished.
	Taken time.Time
	// Source names where the data came from, e.g. "rest" or "cli".
	Source string
	// Info is what ping/version told us about the controller.
	Info Info

	Jobs       []Job
	Nodes      []Node
	Partitions []Partition
	// Diag is nil when scheduler statistics could not be read.
	Diag *Diag
	// Shares is nil when fairshare is not available (no slurmdbd).
	Shares []Share

	// Resources records, per resource, how its last fetch went.
	Resources map[Resource]ResourceStatus
}

// Resource names one kind of data a poll fetches from slurmctld (one Source
// method). The names appear in logs and as the resource label of the poll
// metrics, so they are part of the output.
type Resource string

// The resources of one poll.
const (
	ResourceInfo       Resource = "ping"
	ResourceJobs       Resource = "jobs"
	ResourceNodes      Resource = "nodes"
	ResourcePartitions Resource = "partitions"
	ResourceDiag       Resource = "diag"
	ResourceShares     Resource = "shares"
)

// Resources lists every resource one poll fetches, in a fixed order.
var Resources = []Resource{ResourceInfo, ResourceJobs, ResourceNodes, ResourcePartitions, ResourceDiag, ResourceShares}

// ResourceStatus is how the last fetch of one resource went.
type ResourceStatus struct {
	// OK is true when the latest attempt succeeded.
	OK bool
	// Err is the latest attempt's error, nil when OK.
	Err error
	// Duration is how long the latest request took.
	Duration time.Duration
	// LastSuccess is when the resource was last fetched successfully.
	LastSuccess time.Time
}

// Info describes the controller.
type Info struct {
	// Release is Slurm's version string, e.g. "22.05.8".
	Release string
	// APIVersion is the OpenAPI/data_parser version in use, e.g. "v0.0.44";
	// empty for sources that have none.
	APIVersion string
	Cluster    string
	// Controllers pinged, with whether each answered.
	Controllers []Controller
}

// Controller is one slurmctld as reported by ping.
type Controller struct {
	Hostname string
	Up       bool
	// Primary is true for the primary controller (mode "primary").
	Primary bool
	Latency time.Duration
}

// Job is one job (or one element of a job array) as slurmctld sees it.
type Job struct {
	ID uint32
	// ArrayJobID is the parent array job id, 0 when not part of an array.
	ArrayJobID uint32
	// ArrayTaskID is the array index, -1 when not an array element.
	ArrayTaskID int64
	// ArrayTaskString is the not-yet-split pending part of an array, e.g. "2-9%2".
	ArrayTaskString string

	Name      string
	User      string
	UserID    uint32
	Account   string
	Partition string
	QOS       string

	// State is the base state in upper case: PENDING, RUNNING, SUSPENDED,
	// COMPLETED, CANCELLED, FAILED, TIMEOUT, NODE_FAIL, PREEMPTED,
	// BOOT_FAIL, DEADLINE, OUT_OF_MEMORY.
	State string
	// StateFlags are the extra flags next to the base state (COMPLETING,
	// CONFIGURING, REQUEUED, ...), upper case.
	StateFlags []string
	// Reason is state_reason ("None", "Resources", "Priority", ...).
	Reason string

	SubmitTime time.Time
	StartTime  time.Time
	EndTime    time.Time
	// TimeLimit is 0 when unlimited or unset.
	TimeLimit time.Duration

	CPUs      uint32
	NodeCount uint32
	// MemoryBytes is the job's total allocated (or requested when pending) memory.
	MemoryBytes uint64
	// NodeList is the hostlist expression of allocated nodes ("node[1-2]").
	NodeList string
	// GPUs is the number of GPUs allocated (running) or requested (pending).
	GPUs uint64

	// Alloc is the per-node allocation of a running job, in node order.
	Alloc []NodeAlloc
}

// NodeAlloc is what a job holds on one node.
type NodeAlloc struct {
	Node        string
	CPUs        uint32
	MemoryBytes uint64
	// GRES allocated on this node, e.g. gpu:h100:2(IDX:1-2).
	GRES []GRES
}

// GRES is one generic resource entry such as "gpu:h100:4(IDX:0-3)".
type GRES struct {
	// Name is the GRES name ("gpu", "shard", "mps", ...).
	Name string
	// Type is the GRES type ("h100", "a100_3g.40gb"), empty when untyped.
	Type string
	// Count is how many.
	Count uint64
	// Indices are the device indices when Slurm gave them (IDX:...), else nil.
	Indices []int
}

// Node is one slurmd node.
type Node struct {
	Name     string
	Hostname string
	Address  string
	// State is the base state in upper case: IDLE, ALLOCATED, MIXED, DOWN,
	// ERROR, FUTURE, UNKNOWN.
	State string
	// Flags are the state flags in upper case: DRAIN, NOT_RESPONDING,
	// COMPLETING, MAINTENANCE, RESERVED, POWERED_DOWN, FAIL, ...
	Flags []string
	// Reason is the drain/down reason, empty when none.
	Reason string
	// ReasonTime is when Reason was set, zero when unknown.
	ReasonTime time.Time
	Partitions []string
	Features   []string

	CPUs      uint32
	AllocCPUs uint32
	// CPULoad is the node's load average (Slurm reports it times 100).
	CPULoad float64

	RealMemoryBytes  uint64
	AllocMemoryBytes uint64
	FreeMemoryBytes  uint64

	// GRES configured on the node.
	GRES []GRES
	// GRESUsed is the GRES in use, with indices where known.
	GRESUsed []GRES

	SlurmdVersion string
	BootTime      time.Time
	LastBusy      time.Time
}

// Partition is one partition.
type Partition struct {
	Name string
	// State is UP, DOWN, DRAIN or INACTIVE.
	State string
	// NodeList is the partition's hostlist expression.
	NodeList   string
	TotalNodes uint32
	TotalCPUs  uint32
	Default    bool
	// MaxTime is 0 when unlimited.
	MaxTime time.Duration
}

// Diag is slurmctld's scheduler statistics (sdiag).
type Diag struct {
	// Since is when the statistics were last reset (req_time_start).
	Since time.Time

	ServerThreadCount uint64
	AgentQueueSize    uint64
	AgentCount        uint64
	AgentThreadCount  uint64
	DBDAgentQueueSize uint64

	JobsSubmitted uint64
	JobsStarted   uint64
	JobsCompleted uint64
	JobsCanceled  uint64
	JobsFailed    uint64
	JobsPending   uint64
	JobsRunning   uint64

	// Main scheduler.
	ScheduleCycleLast   time.Duration
	ScheduleCycleMax    time.Duration
	ScheduleCycleMean   time.Duration
	ScheduleCycleSum    time.Duration // schedule_cycle_sum when given, else mean*count
	ScheduleCycleCount  uint64
	ScheduleQueueLength uint64
	ScheduleMeanDepth   uint64

	// Backfill scheduler.
	BackfillActive        bool
	BackfilledJobs        uint64
	BackfilledHetJobs     uint64
	BackfillCycleCount    uint64
	BackfillCycleLast     time.Duration
	BackfillCycleMax      time.Duration
	BackfillCycleMean     time.Duration
	BackfillCycleSum      time.Duration
	BackfillLastDepth     uint64
	BackfillLastDepthTry  uint64
	BackfillQueueLength   uint64
	BackfillLastCycleTime time.Time

	RPCsByType []RPCStat
	RPCsByUser []RPCStat

	// Unreported marks the statistics the source did not give at all,
	// which is not the same as 0: data_parser v0.0.37/38 print no
	// bf_last_depth and bf_last_depth_try, v0.0.39 no bf_cycle_max.
	// Collectors leave those series out.
	Unreported DiagStat
}

// DiagStat is a set of Diag statistics that some Slurm versions lack.
type DiagStat uint8

const (
	DiagBackfillCycleMax DiagStat = 1 << iota
	DiagBackfillLastDepth
	DiagBackfillLastDepthTry
)

// RPCStat is the count and cumulative time of one RPC type or one user's RPCs.
type RPCStat struct {
	// Name is the message type ("REQUEST_JOB_INFO") or the user name.
	Name  string
	Count uint64
	Total time.Duration
}

// Share is one row of the fairshare tree (sshare -a -l, /slurm/vX/shares).
type Share struct {
	Account string
	// User is empty for an account row.
	User   string
	Parent string
	// RawShares is the configured share count.
	RawShares uint64
	// NormShares is the normalized share 0..1.
	NormShares float64
	RawUsage   float64
	// EffectiveUsage is 0..1.
	EffectiveUsage float64
	// FairShare is the fairshare factor 0..1 (users; NaN where Slurm gives none).
	FairShare float64
	// LevelFS is the level fairshare (FairTree); may be +Inf.
	LevelFS float64
}
