package tenancy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"jobscope/gpu"
	"jobscope/kubelet"
	"jobscope/slurm/nodelocal"
)

type lister struct {
	as  []kubelet.Assignment
	err error
}

func (l lister) List(context.Context) ([]kubelet.Assignment, error) { return l.as, l.err }

func snapshot(devs ...gpu.Device) func(context.Context) (*gpu.Snapshot, error) {
	return func(context.Context) (*gpu.Snapshot, error) { return &gpu.Snapshot{Devices: devs}, nil }
}

func dev(uuid string, idx, minor int) gpu.Device {
	return gpu.Device{UUID: uuid, Index: idx, Minor: minor, GPUInstanceID: -1, PCIBusID: "bus-" + uuid}
}

func TestKubernetesOnly(t *testing.T) {
	k := lister{as: []kubelet.Assignment{
		// Time-slicing: two pods on replicas of one GPU.
		{Namespace: "a", Pod: "p1", Container: "c", Device: kubelet.Device{UUID: "GPU-0", Minor: -1, Replica: 0}},
		{Namespace: "a", Pod: "p2", Container: "c", Device: kubelet.Device{UUID: "GPU-0", Minor: -1, Replica: 1}},
		// GKE: by minor number.
		{Namespace: "b", Pod: "q", Container: "c", Device: kubelet.Device{Minor: 1, Replica: -1}},
		// A GPU this node does not have.
		{Namespace: "b", Pod: "r", Container: "c", Device: kubelet.Device{UUID: "GPU-9", Minor: -1, Replica: -1}},
		// Slinky's slurmd holds GPU-2; no Slurm job there: free.
		{Namespace: "slurm", Pod: "slurmd-0", Container: "slurmd", Device: kubelet.Device{UUID: "GPU-2", Minor: -1, Replica: -1}},
	}}
	r := &Resolver{GPUs: snapshot(dev("GPU-0", 0, 0), dev("GPU-1", 1, 1), dev("GPU-2", 2, 2)), Kubelet: k, SlurmdContainer: "slurmd"}
	v := r.Resolve(context.Background())
	want := []GPU{
		{UUID: "GPU-0", Index: 0, Tenants: []Tenant{
			{Kind: Kubernetes, Namespace: "a", Pod: "p1", Container: "c", Source: SourceKubelet},
			{Kind: Kubernetes, Namespace: "a", Pod: "p2", Container: "c", Source: SourceKubelet},
		}},
		{UUID: "GPU-1", Index: 1, Tenants: []Tenant{{Kind: Kubernetes, Namespace: "b", Pod: "q", Container: "c", Source: SourceKubelet}}},
		{UUID: "GPU-2", Index: 2},
	}
	if !reflect.DeepEqual(v.GPUs, want) {
		t.Errorf("got  %+v\nwant %+v", v.GPUs, want)
	}
	if v.Errors["kubelet"] != nil || v.Errors["gpu"] != nil {
		t.Errorf("errors %v", v.Errors)
	}
	if _, ok := v.Errors["cgroup"]; ok {
		t.Error("Slurm sources not configured must not be reported")
	}
}

func TestSourcesFailIndependently(t *testing.T) {
	boom := errors.New("kubelet down")
	r := &Resolver{
		GPUs:    func(context.Context) (*gpu.Snapshot, error) { return nil, gpu.ErrUnavailable },
		Kubelet: lister{err: boom},
	}
	v := r.Resolve(context.Background())
	if !errors.Is(v.Errors["gpu"], gpu.ErrUnavailable) || !errors.Is(v.Errors["kubelet"], boom) || len(v.GPUs) != 0 {
		t.Errorf("view %+v", v)
	}
}

func TestCachedWithinMaxAge(t *testing.T) {
	calls := 0
	now := time.Unix(1000, 0)
	r := &Resolver{
		GPUs: func(context.Context) (*gpu.Snapshot, error) {
			calls++
			return &gpu.Snapshot{}, nil
		},
		MaxAge: time.Second,
		Now:    func() time.Time { return now },
	}
	r.Resolve(context.Background())
	r.Jobs()
	if calls != 1 {
		t.Errorf("%d GPU reads within MaxAge, want 1", calls)
	}
	now = now.Add(time.Second)
	r.Resolve(context.Background())
	if calls != 2 {
		t.Errorf("%d GPU reads after MaxAge, want 2", calls)
	}
}

func TestPrologUUIDsNotOnThisNode(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "prolog"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The prolog names a UUID the backend does not have, and index 1.
	if err := os.WriteFile(filepath.Join(root, "prolog", "7"), []byte("job_id=7\ngpu_uuids=GPU-elsewhere\ngpu_indices=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	disc := nodelocal.New(nodelocal.Config{PrologDir: filepath.Join(root, "prolog")})
	r := &Resolver{GPUs: snapshot(dev("GPU-0", 0, 0), dev("GPU-1", 1, 1)), Discovery: disc}
	v := r.Resolve(context.Background())
	want := []nodelocal.LocalJob{{ID: "7", GPUUUIDs: []string{"GPU-1"}, GPUPCIBusIDs: []string{"bus-GPU-1"}}}
	if !reflect.DeepEqual(v.Jobs, want) {
		t.Errorf("jobs %+v, want %+v", v.Jobs, want)
	}
	// Without any GPU reading the prolog's UUIDs are kept (InfiniBand
	// attribution still needs the job).
	r = &Resolver{GPUs: func(context.Context) (*gpu.Snapshot, error) { return nil, gpu.ErrUnavailable }, Discovery: disc}
	v = r.Resolve(context.Background())
	if len(v.Jobs) != 1 || !reflect.DeepEqual(v.Jobs[0].GPUUUIDs, []string{"GPU-elsewhere"}) {
		t.Errorf("jobs %+v", v.Jobs)
	}
}

type hungLister struct{}

func (hungLister) List(ctx context.Context) ([]kubelet.Assignment, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestHungKubeletIsBounded(t *testing.T) {
	r := &Resolver{GPUs: snapshot(dev("GPU-0", 0, 0)), Kubelet: hungLister{}, KubeletTimeout: 50 * time.Millisecond}
	start := time.Now()
	v := r.Resolve(context.Background())
	if time.Since(start) > 5*time.Second || !errors.Is(v.Errors["kubelet"], context.DeadlineExceeded) {
		t.Errorf("took %v, kubelet error %v", time.Since(start), v.Errors["kubelet"])
	}
	if len(v.GPUs) != 1 {
		t.Errorf("GPUs still resolved: %+v", v.GPUs)
	}
}

// The prolog's UUIDs (CUDA_VISIBLE_DEVICES on 25.11+, or its own
// translation) are the job's GPUs; the GRES indices next to them are only a
// fallback. Slurm's GRES index is the order of gres.conf's File= lines (on a
// MIG node it counts MIG instances), so mapping it by minor as well can add
// a GPU the job does not hold.
func TestPrologIndicesOnlyWithoutUUIDs(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "prolog"), 0o755); err != nil {
		t.Fatal(err)
	}
	// MIG: the job holds MIG-b1, GRES index 3 (the fourth MIG instance).
	if err := os.WriteFile(filepath.Join(root, "prolog", "8"), []byte("job_id=8\ngpu_uuids=MIG-b1\ngpu_indices=3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Full GPU by UUID, whose GRES index is not its minor.
	if err := os.WriteFile(filepath.Join(root, "prolog", "9"), []byte("job_id=9\ngpu_uuids=GPU-2\ngpu_indices=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	disc := nodelocal.New(nodelocal.Config{PrologDir: filepath.Join(root, "prolog")})
	mig := gpu.Device{UUID: "MIG-b1", Index: 1, Minor: 1, Parent: "GPU-1", GPUInstanceID: 3, PCIBusID: "bus-GPU-1"}
	parent := dev("GPU-1", 1, 1)
	parent.MIGEnabled = true
	r := &Resolver{GPUs: snapshot(dev("GPU-0", 0, 0), parent, mig, dev("GPU-2", 2, 2), dev("GPU-3", 3, 3)), Discovery: disc}
	v := r.Resolve(context.Background())
	want := []nodelocal.LocalJob{
		{ID: "8", GPUUUIDs: []string{"MIG-b1"}, GPUPCIBusIDs: []string{"bus-GPU-1"}},
		{ID: "9", GPUUUIDs: []string{"GPU-2"}, GPUPCIBusIDs: []string{"bus-GPU-2"}},
	}
	if !reflect.DeepEqual(v.Jobs, want) {
		t.Errorf("jobs %+v\nwant %+v", v.Jobs, want)
	}
	for _, g := range v.GPUs {
		if (g.UUID == "GPU-0" || g.UUID == "GPU-3") && len(g.Tenants) > 0 {
			t.Errorf("%s attributed to %+v, which does not hold it", g.UUID, g.Tenants)
		}
	}
}

type switchLister struct {
	as  *[]kubelet.Assignment
	err *error
}

func (l switchLister) List(context.Context) ([]kubelet.Assignment, error) { return *l.as, *l.err }

// TestNodeFactsRemembered: the Slurm NodeName, the slurmd pod and each
// GPU's GRES index outlive the job that taught them, so node and
// gres_index labels do not come and go with jobs or a kubelet hiccup.
func TestNodeFactsRemembered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prolog")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "7")
	// GRES index 0 is the GPU with minor 1: the pairing, not the minor, says so.
	if err := os.WriteFile(file, []byte("job_id=7\nnode=slurm-gpu-0\ngpu_uuids=GPU-1\ngpu_indices=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	as := []kubelet.Assignment{
		{Namespace: "slurm", Pod: "slurm-gpu-0", Container: "slurmd", Device: kubelet.Device{UUID: "GPU-0", Minor: -1, Replica: -1}},
		{Namespace: "slurm", Pod: "slurm-gpu-0", Container: "slurmd", Device: kubelet.Device{UUID: "GPU-1", Minor: -1, Replica: -1}},
	}
	var kerr error
	r := &Resolver{GPUs: snapshot(dev("GPU-0", 0, 0), dev("GPU-1", 1, 1)),
		Discovery: nodelocal.New(nodelocal.Config{PrologDir: dir}), Kubelet: switchLister{&as, &kerr}, SlurmdContainer: "slurmd"}
	v := r.Resolve(context.Background())
	want := []GPU{
		{UUID: "GPU-0", Index: 0},
		{UUID: "GPU-1", Index: 1, Tenants: []Tenant{{Kind: Slurm, JobID: "7", Source: SourceProlog, GRESIndex: 0, HasGRESIndex: true,
			SlurmdNamespace: "slurm", SlurmdPod: "slurm-gpu-0"}}},
	}
	if !reflect.DeepEqual(v.GPUs, want) {
		t.Errorf("got  %+v\nwant %+v", v.GPUs, want)
	}
	check := func(when string, v *View) {
		t.Helper()
		if v.SlurmNode != "slurm-gpu-0" || v.Slurmd != (Pod{"slurm", "slurm-gpu-0"}) || !reflect.DeepEqual(v.GRESIndex, map[string]int{"GPU-1": 0}) {
			t.Errorf("%s: node %q, slurmd %+v, gres %v", when, v.SlurmNode, v.Slurmd, v.GRESIndex)
		}
	}
	check("job running", v)

	// The job ends and the kubelet fails: nothing learnt is forgotten.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	kerr = errors.New("kubelet restarting")
	v = r.Resolve(context.Background())
	if len(v.GPUs[1].Tenants) != 0 {
		t.Errorf("job gone, tenants %+v", v.GPUs[1].Tenants)
	}
	check("job gone, kubelet down", v)

	// A kubelet answer without the slurmd pod is believed.
	kerr, as = nil, nil
	if v = r.Resolve(context.Background()); v.Slurmd != (Pod{}) {
		t.Errorf("slurmd pod gone, still %+v", v.Slurmd)
	}
}
