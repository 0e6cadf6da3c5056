// Package tenancy decides which Slurm job or Kubernetes pod holds each GPU
// of the node, from the GPU backend's inventory and processes, the node's
// Slurm jobs (slurm/nodelocal) and the kubelet's pod-resources
// (collectors/node/kubelet). Typed data only: the collectors map it to the
// join metric and per-job counters.
package tenancy

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"jobscope/collectors/node/gpu"
	"jobscope/collectors/node/kubelet"
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
}

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
	r.view, r.taken = r.resolve(ctx), t
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
}

func (r *Resolver) resolve(ctx context.Context) *View {
	v := &View{Errors: map[string]error{}}
	idx := gpuIndex{byUUID: map[string]int{}, byMinor: map[int]string{}}
	if r.GPUs != nil {
		snap, err := r.GPUs(ctx)
		v.Errors["gpu"] = err
		if snap != nil {
			idx.devs = snap.Devices
		}
	}
	// Where MIG is on, Slurm's GRES indices count MIG instances, not GPUs:
	// from the first MIG GPU on, an index is no minor number.
	firstMIGMinor := -1
	for _, d := range idx.devs {
		if (d.MIGEnabled || d.Parent != "") && d.Minor >= 0 && (firstMIGMinor < 0 || d.Minor < firstMIGMinor) {
			firstMIGMinor = d.Minor
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

	jobs := map[string]*nodelocal.LocalJob{}
	var order []string
	addJobGPU := func(jobID, uuid, source string) {
		j := jobs[jobID]
		if j == nil {
			return
		}
		if !slices.Contains(j.GPUUUIDs, uuid) {
			j.GPUUUIDs = append(j.GPUUUIDs, uuid)
		}
		if i, ok := idx.byUUID[uuid]; ok {
			v.GPUs[i].addTenant(Tenant{Kind: Slurm, JobID: jobID, Source: source})
		}
	}

	if r.Discovery != nil {
		res := r.Discovery.Discover()
		v.Errors["prolog"] = res.PrologErr
		v.Errors["cgroup"] = res.CgroupErr
		v.StaleFiles = res.StaleFiles
		for _, j := range res.Jobs {
			jobs[j.ID] = &nodelocal.LocalJob{ID: j.ID, Start: j.Start, Cgroup: j.Cgroup}
			order = append(order, j.ID)
			byUUID := 0
			for _, u := range j.GPUUUIDs {
				// A UUID this node's backend does not know (a prolog and a
				// backend that disagree, a dcgm MIG instance) would be a GPU
				// no series describes; the indices below still map. Without
				// any GPU reading, the prolog's word is all there is.
				if _, ok := idx.byUUID[u]; ok || len(idx.byUUID) == 0 {
					addJobGPU(j.ID, u, SourceProlog)
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
				if firstMIGMinor >= 0 && n >= firstMIGMinor {
					continue
				}
				if u, ok := idx.byMinor[n]; ok {
					addJobGPU(j.ID, u, SourceProlog)
				}
			}
			for _, n := range j.GPUMinors {
				if u, ok := idx.byMinor[n]; ok {
					addJobGPU(j.ID, u, SourceCgroup)
				}
			}
		}
		// Who actually runs on each GPU: a job using a GPU no prolog file
		// or devices.list named (no prolog installed, cgroup v2).
		for _, d := range idx.devs {
			for _, p := range d.Processes {
				if id, ok := r.Discovery.JobOfPID(p.PID); ok {
					if jobs[id] == nil {
						jobs[id] = &nodelocal.LocalJob{ID: id}
						order = append(order, id)
					}
					addJobGPU(id, d.UUID, SourceProcess)
				}
			}
		}
	}

	if r.Kubelet != nil {
		timeout := r.KubeletTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		kctx, cancel := context.WithTimeout(ctx, timeout)
		as, err := r.Kubelet.List(kctx)
		cancel()
		v.Errors["kubelet"] = err
		for _, a := range as {
			uuid := a.Device.UUID
			if uuid == "" {
				uuid = idx.byMinor[a.Device.Minor]
			}
			i, ok := idx.byUUID[uuid]
			if !ok {
				continue
			}
			if r.SlurmdContainer != "" && a.Container == r.SlurmdContainer {
				// Slinky: the slurmd pod holds every GPU of the node; the
				// Slurm job inside it (found above) is the tenant, and a GPU
				// no job holds is free.
				continue
			}
			v.GPUs[i].addTenant(Tenant{Kind: Kubernetes, Namespace: a.Namespace, Pod: a.Pod,
				Container: a.Container, Source: SourceKubelet})
		}
	}

	for _, id := range order {
		j := jobs[id]
		if j == nil {
			continue
		}
		jobs[id] = nil // order may hold an ID twice
		sort.Strings(j.GPUUUIDs)
		j.GPUPCIBusIDs = make([]string, len(j.GPUUUIDs))
		for k, u := range j.GPUUUIDs {
			if i, ok := idx.byUUID[u]; ok {
				j.GPUPCIBusIDs[k] = pciOf(idx.devs, v.GPUs[i].UUID)
			}
		}
		v.Jobs = append(v.Jobs, *j)
	}
	for i := range v.GPUs {
		sortTenants(v.GPUs[i].Tenants)
	}
	return v
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
