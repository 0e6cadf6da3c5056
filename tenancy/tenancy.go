package tenancy

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"jobscope/gpu"
	"jobscope/kubelet"
	"jobscope/slurm/nodelocal"
)

// Tenant kinds (the `tenant` label).
const (
	Slurm      = "slurm"
	Kubernetes = "kubernetes"
)

// How a tenant was found (the `source` label).
const (
	SourceProlog  = "prolog"  // the job's prolog file names the GPU
	SourceCgroup  = "cgroup"  // the job's cgroup v1 devices.list allows the GPU
	SourceProcess = "process" // a process of the job runs on the GPU
	SourceKubelet = "kubelet" // pod-resources assigns the GPU to the container
)

// Tenant holds a GPU.
type Tenant struct {
	Kind                      string
	JobID                     string
	Namespace, Pod, Container string
	Source                    string
	// GRESIndex is Slurm's GRES index of the GPU in the job's allocation,
	// when its prolog file named it (HasGRESIndex).
	GRESIndex    int
	HasGRESIndex bool
	// SlurmdNamespace and SlurmdPod name Slinky's slurmd pod a Slurm job
	// runs in; "" off Slinky.
	SlurmdNamespace, SlurmdPod string
}

// Pod names a Kubernetes pod.
type Pod struct{ Namespace, Name string }

// GPU is one device and who holds it; no Tenants means free.
type GPU struct {
	UUID    string
	Index   int
	Tenants []Tenant
}

// View is one resolution.
type View struct {
	GPUs []GPU
	// Jobs are the Slurm jobs on the node, with the GPUs they hold.
	Jobs []nodelocal.LocalJob
	// StaleFiles are prolog files of jobs that are gone.
	StaleFiles []string
	// Errors by source ("gpu", "prolog", "cgroup", "kubelet"); a source
	// that is not configured has no entry, one that worked maps to nil.
	Errors map[string]error

	// SlurmNode is the Slurm NodeName the prolog files recorded
	// (SLURMD_NODENAME), remembered for the resolver's life so the name
	// does not come and go with the jobs; "" until a file named it.
	SlurmNode string
	// Slurmd is Slinky's slurmd pod on this node (the pod whose slurmd
	// container the kubelet assigns GPUs to), as of the last kubelet
	// answer; zero off Slinky.
	Slurmd Pod
	// GRESIndex is Slurm's GRES index of each GPU (by UUID) that a prolog
	// file ever paired with one, remembered for the resolver's life: the
	// index of a GPU does not change while slurmd's gres.conf stays.
	GRESIndex map[string]int
}

// Lister is the kubelet client (an interface so the resolver can run
// without Kubernetes).
type Lister interface {
	List(ctx context.Context) ([]kubelet.Assignment, error)
}

// Resolver builds Views, at most once per MaxAge: the join, energy and
// InfiniBand collectors of one scrape share one.
type Resolver struct {
	GPUs      func(ctx context.Context) (*gpu.Snapshot, error)
	Discovery *nodelocal.Discovery // nil: no Slurm on this node
	Kubelet   Lister               // nil: no Kubernetes
	// SlurmdContainer names Slinky's slurmd container: GPUs it holds belong
	// to the Slurm jobs inside it, not to the pod.
	SlurmdContainer string
	// KubeletTimeout bounds one List call (default 5 s): a hung kubelet
	// must not hold the resolver, which every tenant collector and the
	// InfiniBand collector's Jobs wait on.
	KubeletTimeout time.Duration
	MaxAge         time.Duration
	Now            func() time.Time

	mu    sync.Mutex
	view  *View
	taken time.Time
	// Remembered across resolutions (see View).
	slurmNode string
	slurmd    Pod
	gres      map[string]int
}

// Resolve returns the current view.
func (r *Resolver) Resolve(ctx context.Context) *View {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	if r.view != nil && t.Sub(r.taken) < r.MaxAge {
		return r.view
	}
	r.view, r.taken = r.remember(r.resolve(ctx)), t
	return r.view
}

// Jobs is Resolve's job list, for collectors that only need the jobs.
func (r *Resolver) Jobs() []nodelocal.LocalJob {
	return r.Resolve(context.Background()).Jobs
}

type gpuIndex struct {
	byUUID  map[string]int // index into View.GPUs
	byMinor map[int]string // full GPUs only
	devs    []gpu.Device
	// firstMIGMinor is the lowest minor of a GPU with MIG on (or of a MIG
	// instance's parent), -1 when none: where MIG is on, Slurm's GRES
	// indices count MIG instances, not GPUs, so from that GPU on an index
	// is no minor number.
	firstMIGMinor int
}

// resolution is one resolve in progress: the view being built, the GPUs
// it can name, and the Slurm jobs found so far in the order found.
type resolution struct {
	v     *View
	idx   gpuIndex
	jobs  map[string]*nodelocal.LocalJob
	order []string
	// cgroups is each job's cgroup directory (Slinky's sit below the
	// slurmd pod's kubepods cgroup).
	cgroups map[string]string
}

// resolve reads the GPUs, then who holds them according to Slurm (prolog
// files, cgroups, processes) and the kubelet, and returns the joined view.
func (r *Resolver) resolve(ctx context.Context) *View {
	res := &resolution{v: &View{Errors: map[string]error{}, GRESIndex: map[string]int{}},
		jobs: map[string]*nodelocal.LocalJob{}, cgroups: map[string]string{}}
	res.readGPUs(ctx, r.GPUs)
	if r.Discovery != nil {
		res.slurmTenants(r.Discovery)
	}
	if r.Kubelet != nil {
		res.kubeletTenants(ctx, r.Kubelet, r.kubeletTimeout(), r.SlurmdContainer)
	}
	res.finish()
	return res.v
}

// remember merges what this resolution learnt about the node (its Slurm
// name, the slurmd pod, GRES indices) into what earlier ones did, and
// gives the view the merged result.
func (r *Resolver) remember(v *View) *View {
	if v.SlurmNode != "" {
		r.slurmNode = v.SlurmNode
	}
	v.SlurmNode = r.slurmNode
	if err, ok := v.Errors["kubelet"]; ok && err == nil {
		// Only a kubelet answer says whether a slurmd pod is here.
		r.slurmd = v.Slurmd
	}
	v.Slurmd = r.slurmd
	if r.gres == nil {
		r.gres = map[string]int{}
	}
	for u, n := range v.GRESIndex {
		r.gres[u] = n
	}
	v.GRESIndex = make(map[string]int, len(r.gres))
	for u, n := range r.gres {
		v.GRESIndex[u] = n
	}
	return v
}

func (r *Resolver) kubeletTimeout() time.Duration {
	if r.KubeletTimeout <= 0 {
		return 5 * time.Second
	}
	return r.KubeletTimeout
}

// readGPUs takes the backend's devices (none when read is nil or fails)
// and indexes them by UUID and, for full GPUs, by minor number.
func (res *resolution) readGPUs(ctx context.Context, read func(context.Context) (*gpu.Snapshot, error)) {
	v := res.v
	res.idx = gpuIndex{byUUID: map[string]int{}, byMinor: map[int]string{}, firstMIGMinor: -1}
	idx := &res.idx
	if read != nil {
		snap, err := read(ctx)
		v.Errors["gpu"] = err
		if snap != nil {
			idx.devs = snap.Devices
		}
	}
	for _, d := range idx.devs {
		if (d.MIGEnabled || d.Parent != "") && d.Minor >= 0 && (idx.firstMIGMinor < 0 || d.Minor < idx.firstMIGMinor) {
			idx.firstMIGMinor = d.Minor
		}
	}
	for _, d := range idx.devs {
		if d.UUID == "" {
			continue
		}
		idx.byUUID[d.UUID] = len(v.GPUs)
		v.GPUs = append(v.GPUs, GPU{UUID: d.UUID, Index: d.Index})
		if d.Parent == "" && d.Minor >= 0 {
			idx.byMinor[d.Minor] = d.UUID
		}
	}
}

// addJob starts job id unless it is already known.
func (res *resolution) addJob(id string, start time.Time) {
	if res.jobs[id] == nil {
		res.jobs[id] = &nodelocal.LocalJob{ID: id, Start: start}
		res.order = append(res.order, id)
	}
}

// addJobGPU records that job jobID holds GPU uuid, found by source; a job
// not started by addJob is ignored.
func (res *resolution) addJobGPU(jobID, uuid, source string) {
	res.addJobGPUIndex(jobID, uuid, source, -1)
}

// addJobGPUIndex is addJobGPU with Slurm's GRES index of the GPU in the
// job's allocation (-1: unknown), which the view also learns.
func (res *resolution) addJobGPUIndex(jobID, uuid, source string, gres int) {
	j := res.jobs[jobID]
	if j == nil {
		return
	}
	if !slices.Contains(j.GPUUUIDs, uuid) {
		j.GPUUUIDs = append(j.GPUUUIDs, uuid)
	}
	if i, ok := res.idx.byUUID[uuid]; ok {
		t := Tenant{Kind: Slurm, JobID: jobID, Source: source}
		if gres >= 0 {
			t.GRESIndex, t.HasGRESIndex = gres, true
			res.v.GRESIndex[uuid] = gres
		}
		res.v.GPUs[i].addTenant(t)
	}
}

// slurmTenants adds the node's Slurm jobs with the GPUs their prolog files
// and cgroups name, then the jobs whose processes run on a GPU.
func (res *resolution) slurmTenants(disc *nodelocal.Discovery) {
	found := disc.Discover()
	res.v.Errors["prolog"] = found.PrologErr
	res.v.Errors["cgroup"] = found.CgroupErr
	res.v.StaleFiles = found.StaleFiles
	for _, j := range found.Jobs {
		res.jobs[j.ID] = &nodelocal.LocalJob{ID: j.ID, Start: j.Start, Cgroup: j.Cgroup}
		res.order = append(res.order, j.ID)
		res.cgroups[j.ID] = j.Cgroup
		res.recordedGPUs(j)
		// Several slurmd on one host (--enable-multiple-slurmd) record
		// several names: the agent has one, the least, so it is stable.
		if j.Node != "" && (res.v.SlurmNode == "" || j.Node < res.v.SlurmNode) {
			res.v.SlurmNode = j.Node
		}
	}
	res.processTenants(disc)
}

// recordedGPUs adds the GPUs job j's prolog file (UUIDs, then GRES
// indices) and cgroup devices.list (minors) name.
func (res *resolution) recordedGPUs(j nodelocal.Job) {
	idx := &res.idx
	byUUID := 0
	pairs := nodelocal.PairGRESIndices(j.GPUUUIDs, j.GPUIndices)
	for _, u := range j.GPUUUIDs {
		// A UUID this node's backend does not know (a prolog and a
		// backend that disagree, a dcgm MIG instance) would be a GPU
		// no series describes; the indices below still map. Without
		// any GPU reading, the prolog's word is all there is.
		if _, ok := idx.byUUID[u]; ok || len(idx.byUUID) == 0 {
			gres, ok := pairs[u]
			if !ok {
				gres = -1
			}
			res.addJobGPUIndex(j.ID, u, SourceProlog, gres)
			byUUID++
		}
	}
	// Slurm's GRES indices (the order of gres.conf's File= lines,
	// usually the /dev/nvidiaN minor) only stand in for UUIDs: where
	// the UUIDs already named as many GPUs as the job holds, an
	// index that is not the minor would add a GPU the job does not
	// hold; at or past a MIG GPU it is not the minor.
	for _, n := range j.GPUIndices {
		if byUUID >= len(j.GPUIndices) {
			break
		}
		if idx.firstMIGMinor >= 0 && n >= idx.firstMIGMinor {
			continue
		}
		if u, ok := idx.byMinor[n]; ok {
			// The GPU is the agent's reading of index n (as a minor);
			// its GRES index is n either way.
			res.addJobGPUIndex(j.ID, u, SourceProlog, n)
		}
	}
	for _, n := range j.GPUMinors {
		if u, ok := idx.byMinor[n]; ok {
			res.addJobGPU(j.ID, u, SourceCgroup)
		}
	}
}

// processTenants adds who actually runs on each GPU: a job using a GPU no
// prolog file or devices.list named (no prolog installed, cgroup v2).
func (res *resolution) processTenants(disc *nodelocal.Discovery) {
	for _, d := range res.idx.devs {
		for _, p := range d.Processes {
			if id, ok := disc.JobOfPID(p.PID); ok {
				res.addJob(id, time.Time{})
				res.addJobGPU(id, d.UUID, SourceProcess)
			}
		}
	}
}

// kubeletTenants adds the pods the kubelet assigns GPUs to, within timeout
// so a hung kubelet does not hold the resolver.
func (res *resolution) kubeletTenants(ctx context.Context, l Lister, timeout time.Duration, slurmdContainer string) {
	kctx, cancel := context.WithTimeout(ctx, timeout)
	as, err := l.List(kctx)
	cancel()
	res.v.Errors["kubelet"] = err
	var slurmds []Pod
	for _, a := range as {
		uuid := a.Device.UUID
		if uuid == "" {
			uuid = res.idx.byMinor[a.Device.Minor]
		}
		i, ok := res.idx.byUUID[uuid]
		if !ok {
			continue
		}
		if slurmdContainer != "" && a.Container == slurmdContainer {
			// Slinky: the slurmd pod holds every GPU of the node; the
			// Slurm job inside it (found above) is the tenant, and a GPU
			// no job holds is free. The job runs in that pod.
			p := Pod{Namespace: a.Namespace, Name: a.Pod}
			if !slices.Contains(slurmds, p) {
				slurmds = append(slurmds, p)
			}
			for k := range res.v.GPUs[i].Tenants {
				if t := &res.v.GPUs[i].Tenants[k]; t.Kind == Slurm {
					t.SlurmdNamespace, t.SlurmdPod = p.Namespace, p.Name
				}
			}
			continue
		}
		res.v.GPUs[i].addTenant(Tenant{Kind: Kubernetes, Namespace: a.Namespace, Pod: a.Pod,
			Container: a.Container, Source: SourceKubelet})
	}
	res.slinkyJobs(slurmds)
}

// slinkyJobs names the slurmd pod of Slurm jobs whose GPU the kubelet did
// not assign to one (a GPU listed by minor only, a shared GPU): where one
// slurmd pod runs on the node, as Slinky's NodeSet anti-affinity makes it,
// a job whose cgroup sits below kubepods runs in that pod. With several
// (not Slinky's layout) only the GPU's assignment above says which.
func (res *resolution) slinkyJobs(slurmds []Pod) {
	sort.Slice(slurmds, func(i, j int) bool {
		if slurmds[i].Namespace != slurmds[j].Namespace {
			return slurmds[i].Namespace < slurmds[j].Namespace
		}
		return slurmds[i].Name < slurmds[j].Name
	})
	if len(slurmds) > 0 {
		res.v.Slurmd = slurmds[0]
	}
	if len(slurmds) != 1 {
		return
	}
	p := slurmds[0]
	for i := range res.v.GPUs {
		for k := range res.v.GPUs[i].Tenants {
			t := &res.v.GPUs[i].Tenants[k]
			if t.Kind == Slurm && t.SlurmdPod == "" && inKubepods(res.cgroups[t.JobID]) {
				t.SlurmdNamespace, t.SlurmdPod = p.Namespace, p.Name
			}
		}
	}
}

// inKubepods says whether a cgroup path is below a Kubernetes pod's
// (kubepods.slice/… with the systemd driver, kubepods/… with cgroupfs).
func inKubepods(cgroup string) bool {
	for _, part := range strings.Split(cgroup, "/") {
		if part == "kubepods" || strings.HasPrefix(part, "kubepods.") || strings.HasPrefix(part, "kubepods-") {
			return true
		}
	}
	return false
}

// finish lists the jobs in the order found, each with its GPUs sorted and
// their PCI bus IDs, and sorts every GPU's tenants.
func (res *resolution) finish() {
	v := res.v
	for _, id := range res.order {
		j := res.jobs[id]
		if j == nil {
			continue
		}
		res.jobs[id] = nil // order may hold an ID twice
		sort.Strings(j.GPUUUIDs)
		j.GPUPCIBusIDs = make([]string, len(j.GPUUUIDs))
		for k, u := range j.GPUUUIDs {
			if i, ok := res.idx.byUUID[u]; ok {
				j.GPUPCIBusIDs[k] = pciOf(res.idx.devs, v.GPUs[i].UUID)
			}
		}
		v.Jobs = append(v.Jobs, *j)
	}
	for i := range v.GPUs {
		sortTenants(v.GPUs[i].Tenants)
	}
}

func pciOf(devs []gpu.Device, uuid string) string {
	for _, d := range devs {
		if d.UUID == uuid {
			return d.PCIBusID
		}
	}
	return ""
}

// addTenant adds t unless the same tenant is already there; a job found by
// several sources keeps the first (prolog before cgroup before process).
func (g *GPU) addTenant(t Tenant) {
	for _, o := range g.Tenants {
		if o.Kind == t.Kind && o.JobID == t.JobID && o.Namespace == t.Namespace &&
			o.Pod == t.Pod && o.Container == t.Container {
			return
		}
	}
	g.Tenants = append(g.Tenants, t)
}

func sortTenants(ts []Tenant) {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.JobID != b.JobID {
			return a.JobID < b.JobID
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Pod != b.Pod {
			return a.Pod < b.Pod
		}
		return a.Container < b.Container
	})
}
