package node_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"jobscope/collectors/node"
	"jobscope/gpu"
	"jobscope/gpu/dcgm"
	"jobscope/gpu/gputest"
	gpunvml "jobscope/gpu/nvml"
	"jobscope/slurm/nodelocal"
	"jobscope/test/golden"
)

// scenario is one node the documented joins need, built from the fixtures
// and mocks: the go-nvml mock for its GPUs, prolog files as
// deploy/slurm/jobscope-prolog.sh writes them, the recorded cgroup layouts
// (slurm/nodelocal/testdata) and a real pod-resources gRPC server.
//
// GPU UUIDs are unique across scenarios (uuidBase), as they are across a
// fleet, so the join test can load every page into one Prometheus.
type scenario struct {
	name     string
	uuidBase int
	gpus     int
	// setup adjusts the GPUs (processes, MIG) after the defaults.
	setup func(gpus []gputest.GPU)
	// prolog is file name -> content below the prolog directory.
	prolog map[string]string
	// cgroupFixture is a subtree of slurm/nodelocal/testdata/v2/cgroup
	// copied into the node's cgroup v2 root ("" for none).
	cgroupFixture string
	pods          *podresourcesv1.ListPodResourcesResponse
	cfg           node.NodeConfig
	hostname      string
	// dcgmPage, when set, runs the dcgm backend over this DCGM exporter
	// page (served over HTTP) instead of the nvml backend; the go-nvml
	// mock of nvmlGPUs then stands for the node's driver, which the dcgm
	// backend asks for MIG UUIDs only.
	dcgmPage string
	nvmlGPUs []gputest.GPU
}

func suuid(base, i int) string { return gputest.UUID(base + i) }

func devIDs(resource string, ids ...string) []*podresourcesv1.ContainerDevices {
	return []*podresourcesv1.ContainerDevices{{ResourceName: resource, DeviceIds: ids}}
}

func pod(ns, name, container string, devs []*podresourcesv1.ContainerDevices) *podresourcesv1.PodResources {
	return &podresourcesv1.PodResources{Name: name, Namespace: ns,
		Containers: []*podresourcesv1.ContainerResources{{Name: container, Devices: devs}}}
}

const (
	migJobA = "MIG-7a000000-1111-2222-3333-444444444444"
	migJobB = "MIG-7b000000-1111-2222-3333-444444444444"
)

// scenarios are the golden nodes of the joins in docs/metrics-node.md.
//
//	timesliced  Kubernetes only: pods ml/train-a and ml/train-b on replicas of one
//	            time-sliced GPU (GPU-<uuid>::0, ::1), pod serve/infer-0 on the other
//	mps         bare metal: Slurm jobs 2001 and 2002 share GPU 0 (MPS / shard, both
//	            prolog files name it at GRES index 0), GPU 1 free; node from SLURMD_NODENAME
//	slinky      Slinky: slurmd pod slurm/slurm-gpu-0 holds all four GPUs, job 77 runs
//	            in it (its cgroup below the pod's kubepods cgroup) on GRES 2 and 3
//	mig         a MIG GPU: job 3001 on instance A (GRES index 0), job 3002 on B (1);
//	            a full GPU free
//	node1       the node of cmd/jobscope's golden Slurm page: job 1001 on GRES 0 and 1
//	            (slurmrestd says so), so the agent-to-exporter joins have a match
//	mig-dcgm    the dcgm backend on an A100 in MIG mode (four 1g.20gb instances, the
//	            derived page of gpu/dcgm/testdata), NVML giving the MIG UUIDs: job 4001
//	            on GI 3 (its prolog file names the MIG UUID), pod ml/infer-mig-0 on GI 5
//	            (the kubelet names the MIG UUID); GI 4 and 6 free
func scenarios() []scenario {
	return []scenario{
		{
			name: "timesliced", uuidBase: 0x100, gpus: 2, hostname: "k8s-worker-3.example",
			cfg: node.NodeConfig{KubernetesNode: "k8s-worker-3"},
			pods: &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
				pod("ml", "train-a", "main", devIDs("nvidia.com/gpu", suuid(0x100, 0)+"::0")),
				pod("ml", "train-b", "main", devIDs("nvidia.com/gpu", suuid(0x100, 0)+"::1")),
				pod("serve", "infer-0", "server", devIDs("nvidia.com/gpu", suuid(0x100, 1))),
			}},
		},
		{
			name: "mps", uuidBase: 0x200, gpus: 2, hostname: "gpu-c03.cluster.example",
			prolog: map[string]string{
				"2001": "job_id=2001\nuid=1000\nstart=1764400000\nnode=gpu-c03\ngpu_uuids=" + suuid(0x200, 0) + "\ngpu_indices=0\n",
				"2002": "job_id=2002\nuid=1001\nstart=1764400100\nnode=gpu-c03\ngpu_uuids=" + suuid(0x200, 0) + "\ngpu_indices=0\n",
			},
		},
		{
			name: "slinky", uuidBase: 0x300, gpus: 4, hostname: "jobscope-node-x7k2p",
			cfg:           node.NodeConfig{KubernetesNode: "k8s-gpu-9"},
			cgroupFixture: "kubepods.slice",
			prolog: map[string]string{
				"77": "job_id=77\nuid=1000\nstart=1764400200\nnode=slurm-gpu-0\ngpu_uuids=" + suuid(0x300, 2) + "," + suuid(0x300, 3) + "\ngpu_indices=2,3\n",
			},
			pods: &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
				pod("slurm", "slurm-gpu-0", "slurmd", devIDs("nvidia.com/gpu", suuid(0x300, 0), suuid(0x300, 1), suuid(0x300, 2), suuid(0x300, 3))),
			}},
		},
		{
			name: "mig", uuidBase: 0x400, gpus: 2, hostname: "gpu-m01",
			setup: func(g []gputest.GPU) {
				g[0].MIG = []gputest.MIG{
					{UUID: migJobA, Profile: "3g.40gb", GI: 1, MemUsed: 10 << 30, MemTotal: 40 << 30, Processes: []nvml.ProcessInfo{}},
					{UUID: migJobB, Profile: "3g.40gb", GI: 2, MemUsed: 20 << 30, MemTotal: 40 << 30, Processes: []nvml.ProcessInfo{}},
				}
			},
			prolog: map[string]string{
				"3001": "job_id=3001\nuid=1000\nstart=1764400000\nnode=gpu-m01\ngpu_uuids=" + migJobA + "\ngpu_indices=0\n",
				"3002": "job_id=3002\nuid=1000\nstart=1764400000\nnode=gpu-m01\ngpu_uuids=" + migJobB + "\ngpu_indices=1\n",
			},
		},
		{
			name: "mig-dcgm", hostname: "gpu-m02",
			dcgmPage: "../../gpu/dcgm/testdata/dcgm-exporter-A100-MIG-derived.prom",
			nvmlGPUs: []gputest.GPU{gputest.A100MIG()},
			prolog: map[string]string{
				"4001": "job_id=4001\nuid=1000\nstart=1764400000\nnode=gpu-m02\ngpu_uuids=" + gputest.A100MIGGI3 + "\ngpu_indices=0\n",
			},
			pods: &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
				pod("ml", "infer-mig-0", "server", devIDs("nvidia.com/mig-1g.20gb", gputest.A100MIGGI5)),
			}},
		},
		{
			name: "node1", uuidBase: 0x500, gpus: 4, hostname: "node1.cluster.example",
			prolog: map[string]string{
				"1001": "job_id=1001\nuid=1000\nstart=1764400000\nnode=node1\ngpu_uuids=" + suuid(0x500, 0) + "," + suuid(0x500, 1) + "\ngpu_indices=0,1\n",
			},
		},
	}
}

// run wires the scenario's agent as cmd/jobscope/node.go does and scrapes
// it twice (GPM and energy need two readings).
func (sc scenario) run(t *testing.T) string {
	t.Helper()
	gpus := make([]gputest.GPU, sc.gpus)
	for i := range gpus {
		gpus[i] = gputest.GPU{
			UUID: suuid(sc.uuidBase, i), Name: "NVIDIA H100 80GB HBM3", BusID: busID(i), Minor: i,
			UtilGPU: uint32(20 + 10*i), UtilMemory: uint32(5 * i), MemUsed: uint64(i+1) << 30, MemTotal: 80 << 30,
			PowerMW: 200_000 + uint32(i)*50_000, LimitMW: 700_000, EnergyMJ: uint64(i+1) * 1_000_000_000,
			TempC: 40 + uint32(i), SMClockMHz: 1980, MemMHz: 2619, ClockReasons: 0x1,
			NVLinks: 18, Processes: []nvml.ProcessInfo{},
		}
	}
	if sc.setup != nil {
		sc.setup(gpus)
	}
	var backend gpu.Backend
	var n *gputest.Node
	if sc.dcgmPage != "" {
		n = gputest.NewNode("535.54.03", nvml.SUCCESS, sc.nvmlGPUs)
		backend = dcgm.New(serveFile(t, sc.dcgmPage), nil, dcgm.WithMIGLister(gpunvml.NewMIGLister(n.Lib), nil))
	} else {
		n = gputest.NewNode("580.105.08", nvml.SUCCESS, gpus)
		backend = gpunvml.New(n.Lib, nil)
	}
	c, deps, r := agentDeps(backend, sc.hostname)
	root := t.TempDir()
	deps.Paths, deps.Node = rootedPaths(root), sc.cfg
	if sc.prolog != nil || sc.cgroupFixture != "" {
		cfg := nodelocal.Config{ProcFS: deps.Paths.ProcFS, Now: c.now}
		if sc.prolog != nil {
			cfg.PrologDir = filepath.Join(root, "prolog")
			mustMkdir(t, cfg.PrologDir)
			for name, body := range sc.prolog {
				mustWrite(t, filepath.Join(cfg.PrologDir, name), body)
			}
		}
		if sc.cgroupFixture != "" {
			cfg.CgroupFS = deps.Paths.CgroupFS
			mustMkdir(t, cfg.CgroupFS)
			mustWrite(t, filepath.Join(cfg.CgroupFS, "cgroup.controllers"), "cpuset cpu io memory pids\n")
			src := filepath.Join("../../slurm/nodelocal/testdata/v2/cgroup", sc.cgroupFixture)
			if err := os.CopyFS(filepath.Join(cfg.CgroupFS, sc.cgroupFixture), os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			pinMtimes(t, cfg.CgroupFS)
		}
		r.Discovery = nodelocal.New(cfg)
	}
	if sc.pods != nil {
		r.Kubelet = kubeletClient(t, sc.pods)
	}
	a := wire(t, c, n, deps, r)
	a.page(t)
	c.t = c.t.Add(30 * time.Second)
	page, reg := a.page(t)
	golden.LintGatherer(t, reg)
	return page
}

// serveFile serves a DCGM exporter page as dcgm-exporter does.
func serveFile(t *testing.T, path string) string {
	t.Helper()
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pinMtimes sets every file's and directory's mtime below dir to t0.
func pinMtimes(t testing.TB, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, t0, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ScenarioGolden is the golden page of scenario name (also read by the
// join test).
func scenarioGolden(name string) string {
	return filepath.Join("testdata", "golden", fmt.Sprintf("scenario-%s.prom", name))
}

func TestGoldenScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			golden.Check(t, scenarioGolden(sc.name), []byte(sc.run(t)))
		})
	}
}
