package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"jobscope/collectors"
	"jobscope/collectors/node"
	"jobscope/gpu"
	"jobscope/gpu/dcgm"
	"jobscope/gpu/gputest"
	gpunvml "jobscope/gpu/nvml"
	"jobscope/kubelet"
	"jobscope/kubelet/kubelettest"
	"jobscope/slurm/nodelocal"
	"jobscope/tenancy"
	"jobscope/test/golden"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// t0 is the fixture trees' directory mtime (cgroup-only jobs start then).
var t0 = time.Unix(1764390000, 0)

// fixtureTree copies the nodelocal v2 tree (recorded layouts plus SLUID,
// multiple slurmd and Slinky; see its README) and pins its mtimes. The
// unresolved SLUID job is removed so that job 99's prolog file is stale.
func fixtureTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../slurm/nodelocal/testdata/v2")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "cgroup/system.slice/slurmstepd.scope/s5K1KKYAYG5D00")); err != nil {
		t.Fatal(err)
	}
	pinMtimes(t, dir)
	return dir
}

const (
	migA = "MIG-6a000000-1111-2222-3333-444444444444"
	migB = "MIG-6b000000-1111-2222-3333-444444444444"
)

// mockNode is an 8-GPU H100 node:
//
//	GPU0, GPU1  job 4 (prolog, by UUID); a process of job 4 on GPU0; XID 79 on GPU1
//	GPU2        job 123 (cgroup named by SLUID; prolog by UUID); its process
//	GPU3        no prolog file: job 5's process (second slurmd) found via /proc
//	GPU4        Kubernetes pod ml/train-0 (pod-resources)
//	GPU5        Slinky: the slurmd pod holds it; job 77 inside it (prolog, GRES index 5)
//	GPU6        MIG: instance A held by pod serve/infer-1, instance B free; the GPU is free
//	GPU7        fell off the bus after the first reading
func mockNode() (*gputest.Node, []gputest.GPU) {
	gpus := make([]gputest.GPU, 8)
	for i := range gpus {
		gpus[i] = gputest.GPU{
			UUID: gputest.UUID(i), Name: "NVIDIA H100 80GB HBM3", BusID: busID(i), Minor: i,
			UtilGPU: uint32(10 * i), UtilMemory: uint32(5 * i), MemUsed: uint64(i) << 30, MemTotal: 80 << 30,
			PowerMW: 100_000 + uint32(i)*50_000, LimitMW: 700_000, EnergyMJ: uint64(i+1) * 1_000_000_000,
			TempC: 30 + uint32(i), SMClockMHz: 1980, MemMHz: 2619, ClockReasons: 0x1,
			NVLinks: 18, XIDEvents: true, Processes: []nvml.ProcessInfo{},
			GPM: true, SMUtilPct: float64(10 * i), TensorPct: float64(5 * i),
		}
	}
	gpus[0].Processes = []nvml.ProcessInfo{{Pid: 49276, UsedGpuMemory: 20 << 30}}
	gpus[0].ClockReasons = 0x4
	gpus[1].ECC = [4]uint64{3, 0, 12, 1}
	gpus[1].RemapCorr = 2
	gpus[2].Processes = []nvml.ProcessInfo{{Pid: 51001, UsedGpuMemory: 1 << 30}}
	gpus[3].Processes = []nvml.ProcessInfo{{Pid: 53001, UsedGpuMemory: 2 << 30}, {Pid: 67998, UsedGpuMemory: 1 << 20}}
	gpus[3].PCIeReplays = 4
	gpus[6].Name = "NVIDIA H100 80GB HBM3"
	gpus[6].MIG = []gputest.MIG{
		{UUID: migA, Profile: "3g.40gb", GI: 1, MemUsed: 3 << 30, MemTotal: 40 << 30, Processes: []nvml.ProcessInfo{}},
		{UUID: migB, Profile: "3g.40gb", GI: 2, MemTotal: 40 << 30, Processes: []nvml.ProcessInfo{}},
	}
	return gputest.NewNode("580.105.08", nvml.SUCCESS, gpus), gpus
}

func busID(i int) string {
	return "00000000:" + []string{"18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"}[i] + ":00.0"
}

func podResources() *podresourcesv1.ListPodResourcesResponse {
	return &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: "train-0", Namespace: "ml", Containers: []*podresourcesv1.ContainerResources{
			{Name: "main", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{gputest.UUID(4)}}}},
		}},
		{Name: "infer-1", Namespace: "serve", Containers: []*podresourcesv1.ContainerResources{
			{Name: "server", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/mig-3g.40gb", DeviceIds: []string{migA}}}},
		}},
		{Name: "slurm-gpu-0", Namespace: "slurm", Containers: []*podresourcesv1.ContainerResources{
			{Name: "slurmd", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"nvidia5"}}}},
		}},
	}}
}

// agent wires Deps as cmd/jobscope/node.go does, over fixtures.
type agent struct {
	runner *collectors.Runner
	clock  *clock
	node   *gputest.Node
}

func newAgent(t testing.TB, backend gpu.Backend, n *gputest.Node, withTenants bool, opts ...func(*node.Deps)) *agent {
	t.Helper()
	// A fixed host name: the node label falls back to it.
	c, deps, r := agentDeps(backend, "gpu-b07.cluster.example")
	deps.Paths = node.DefaultPaths
	if withTenants {
		root := fixtureTree(t)
		deps.Paths = rootedPaths(root)
		r.Discovery = nodelocal.New(nodelocal.Config{CgroupFS: deps.Paths.CgroupFS, ProcFS: deps.Paths.ProcFS,
			PrologDir: filepath.Join(root, "prolog"), Now: c.now})
		r.Kubelet = kubeletClient(t, podResources())
	}
	return wire(t, c, n, deps, r, opts...)
}

// agentDeps makes the agent's clock, its Deps over a GPU cache of backend
// and the GPU-to-tenant resolver, as cmd/jobscope/node.go does; the caller
// sets the paths and the resolver's sources, then calls wire.
func agentDeps(backend gpu.Backend, hostname string) (*clock, node.Deps, *tenancy.Resolver) {
	c := &clock{t: time.Unix(1764400500, 0)}
	cache := gpu.NewCache(backend, time.Second, c.now)
	deps := node.Deps{Now: c.now, GPUBackend: backend.Name(), GPUs: cache.Snapshot, Hostname: hostname}
	r := &tenancy.Resolver{GPUs: cache.Snapshot, SlurmdContainer: "slurmd", MaxAge: time.Second, Now: c.now}
	return c, deps, r
}

// wire registers every node collector over deps, r answering tenants and
// jobs, opts adjusting deps last.
func wire(t testing.TB, c *clock, n *gputest.Node, deps node.Deps, r *tenancy.Resolver, opts ...func(*node.Deps)) *agent {
	t.Helper()
	deps.Tenancy, deps.Jobs = r.Resolve, r.Jobs
	for _, o := range opts {
		o(&deps)
	}
	set := collectors.NewSet[node.Deps]()
	node.Register(set, nil)
	runner, err := set.Build(deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &agent{runner: runner, clock: c, node: n}
}

// rootedPaths are the host trees below root, as in a container whose
// --path.* flags point at the host's.
func rootedPaths(root string) node.Paths {
	return node.Paths{ProcFS: filepath.Join(root, "proc"), SysFS: filepath.Join(root, "sys"),
		CgroupFS: filepath.Join(root, "cgroup"), RootFS: root}
}

// kubeletClient asks a real pod-resources gRPC server answering pods.
func kubeletClient(t testing.TB, pods *podresourcesv1.ListPodResourcesResponse) *kubelet.Client {
	t.Helper()
	kc := kubelet.NewClient(kubelettest.Serve(t, pods))
	t.Cleanup(func() {
		if err := kc.Close(); err != nil {
			t.Error(err)
		}
	})
	return kc
}

func (a *agent) registry(t testing.TB) *prometheus.Registry {
	t.Helper()
	s, err := a.runner.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	return reg
}

var durationLine = regexp.MustCompile(`(?m)^jobscope_scrape_collector_duration_seconds\{.*\n`)

// page scrapes as /metrics does (Runner.Gatherer, GatherPage, Page.Write)
// and renders the text format without durations, families in the
// registry's order. It then scrapes again at the same clock through
// Runner.Scrape and a registry (the collectors' Update path) and requires
// the same page: both paths must expose the same families, series and
// values, byte for byte.
func (a *agent) page(t testing.TB) (string, *prometheus.Registry) {
	t.Helper()
	served := a.servedPage(t)
	reg := a.registry(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	gathered := durationLine.ReplaceAllString(string(golden.Text(t, mfs)), "")
	if served != gathered {
		t.Errorf("the page /metrics writes differs from the registry's:\n%s", golden.Diff(gathered, served))
	}
	return served, reg
}

// servedPage is one scrape's text page as the exporter's handler writes it,
// its families sorted by name as a registry sorts them (Page.Write puts
// the families of FamilySetCollectors after the others), durations left out.
func (a *agent) servedPage(t testing.TB) string {
	t.Helper()
	g, err := a.runner.Gatherer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.GatherPage()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), false); err != nil {
		t.Fatal(err)
	}
	// Every family starts with its HELP line.
	var blocks []string
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if strings.HasPrefix(line, "# HELP ") || len(blocks) == 0 {
			blocks = append(blocks, "")
		}
		blocks[len(blocks)-1] += line
	}
	name := func(block string) string { return strings.Fields(block + " _ _")[2] }
	slices.SortStableFunc(blocks, func(x, y string) int { return strings.Compare(name(x), name(y)) })
	return durationLine.ReplaceAllString(strings.Join(blocks, ""), "")
}

// scrapeMockNode runs the two scrapes of the golden page: the first sees
// every GPU, then GPU7 falls off the bus, GPU1 reports XID 79 and every
// GPU's energy counter moves on.
func scrapeMockNode(t testing.TB) (*agent, string, *prometheus.Registry) {
	n, gpus := mockNode()
	b := gpunvml.New(n.Lib, nil)
	// This node mixes bare-metal jobs, pods and a Slinky slurmd pod, which
	// no real node does; --node.name names it (the fallbacks have their
	// own scenarios).
	a := newAgent(t, b, n, true, func(d *node.Deps) { d.Node.Name = "gpu-b07" })
	a.page(t)

	lost := gpus[7]
	lost.Lost = true
	lostDev := gputest.NewNode("", nvml.SUCCESS, []gputest.GPU{lost}).Device(0)
	orig := n.Lib.DeviceGetHandleByIndexFunc
	n.Lib.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i == 7 {
			return lostDev, nvml.SUCCESS
		}
		return orig(i)
	}
	for i := 0; i < 7; i++ {
		d := n.Device(i).(*mock.Device)
		e := gpus[i].EnergyMJ + uint64(i+1)*60_000_000 // (i+1)*60 kJ more
		d.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return e, nvml.SUCCESS }
	}
	n.Queue(nvml.EventData{Device: n.Device(1), EventType: nvml.EventTypeXidCriticalError, EventData: 79})
	a.clock.t = a.clock.t.Add(30 * time.Second)
	page, reg := a.page(t)
	return a, page, reg
}

func TestGoldenMockNode(t *testing.T) {
	_, page, reg := scrapeMockNode(t)
	golden.Check(t, filepath.Join("testdata", "golden", "mock-h100-node.prom"), []byte(page))
	golden.LintGatherer(t, reg)
}

func TestGoldenDCGMPages(t *testing.T) {
	for _, name := range []string{"dcgm-exporter-L4-kops.prom", "dcgm-exporter-L40S-upcloud.prom", "dcgm-exporter-GRID-A100-10C-vgpu-vks.prom"} {
		t.Run(name, func(t *testing.T) {
			a := newAgent(t, fileBackend(t, "../../gpu/dcgm/testdata/"+name), nil, false)
			page, reg := a.page(t)
			golden.Check(t, filepath.Join("testdata", "golden", "dcgm-"+strings.TrimPrefix(name, "dcgm-exporter-")), []byte(page))
			golden.LintGatherer(t, reg)
		})
	}
}

// fileBackend serves a recorded DCGM exporter page through the dcgm parser.
type fileSnap struct{ path string }

func fileBackend(t testing.TB, path string) gpu.Backend {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return fileSnap{path: path}
}

func (f fileSnap) Name() string { return "dcgm" }
func (f fileSnap) Close() error { return nil }
func (f fileSnap) Snapshot(context.Context) (*gpu.Snapshot, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return dcgm.Parse(file)
}

// TestNoDriver: a host without a GPU driver serves gpu_backend_up 0, the
// gpu collector reports no data, and Slurm tenants and jobs still come out.
func TestNoDriver(t *testing.T) {
	n := gputest.NewNode("", nvml.ERROR_LIBRARY_NOT_FOUND, nil)
	a := newAgent(t, gpunvml.New(n.Lib, nil), n, true)
	page, reg := a.page(t)
	for _, want := range []string{
		`jobscope_gpu_backend_up{backend="nvml",reason="library_not_found"} 0`,
		`jobscope_scrape_collector_success{collector="gpu"} 0`,
		`jobscope_scrape_collector_success{collector="gpu-backend"} 1`,
		`jobscope_job_start_timestamp_seconds{job_id="4"} 1.7644e+09`,
		`jobscope_tenant_source_up{source="gpu"} 0`,
		`jobscope_tenant_source_up{source="cgroup"} 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("missing %q in\n%s", want, page)
		}
	}
	if strings.Contains(page, "jobscope_gpu_tenant_info") {
		t.Error("no GPU, no tenant series")
	}
	golden.LintGatherer(t, reg)
}

// TestMetricsDoc keeps docs/metrics-node.md equal to the families the node
// collectors emit on the golden fixtures.
func TestMetricsDoc(t *testing.T) {
	emitted := map[string]bool{}
	family := regexp.MustCompile(`(?m)^# TYPE (\S+) `)
	add := func(page string) {
		for _, m := range family.FindAllStringSubmatch(page, -1) {
			emitted[m[1]] = true
		}
	}
	_, page, _ := scrapeMockNode(t)
	add(page)
	p, _ := newAgent(t, fileBackend(t, "../../gpu/dcgm/testdata/dcgm-exporter-L4-kops.prom"), nil, false).page(t)
	add(p)
	p, _ = newAgent(t, dcgmMIGBackend{}, nil, false).page(t)
	add(p)

	golden.CheckDocNames(t, "../../docs/metrics-node.md", "jobscope_", emitted)
}

// dcgmMIGBackend is a dcgm page with the fields the recorded pages lack
// (XID, profiling), so every family the dcgm backend can produce is seen.
type dcgmMIGBackend struct{}

func (dcgmMIGBackend) Name() string { return "dcgm" }
func (dcgmMIGBackend) Close() error { return nil }
func (dcgmMIGBackend) Snapshot(context.Context) (*gpu.Snapshot, error) {
	return dcgm.Parse(strings.NewReader(`DCGM_FI_DEV_XID_ERRORS{gpu="0",uuid="GPU-aaaa"} 79
DCGM_FI_PROF_SM_ACTIVE{gpu="0",uuid="GPU-aaaa"} 0.5
`))
}

// TestGPUNeverRead: a GPU that failed before its UUID was ever read is
// still visible as down, by index, and the other GPU is exported. The
// collector read the backend, so it succeeded: a lost GPU is GPU health,
// not agent health.
func TestGPUNeverRead(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{{UUID: gputest.UUID(0)}, {NoUUID: true}})
	a := newAgent(t, gpunvml.New(n.Lib, nil), n, false)
	page, reg := a.page(t)
	for _, want := range []string{
		`jobscope_gpu_up{gpu="1",uuid=""} 0`,
		`jobscope_gpu_up{gpu="0",uuid="` + gputest.UUID(0) + `"} 1`,
		`jobscope_scrape_collector_success{collector="gpu"} 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("missing %q in\n%s", want, page)
		}
	}
	golden.LintGatherer(t, reg)
}

// TestFirstXIDSeenByIncrease: the XID total and the codes that page exist
// at 0 before the first event, so the first XID 79 of a GPU moves a series
// from 0 to 1 (what increase() sees) instead of creating it at 1. A code
// outside the list appears at its first event. A GPU not registered for
// XID events exports no XID series at all (nothing is counted).
func TestFirstXIDSeenByIncrease(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{
		{UUID: gputest.UUID(0), XIDEvents: true}, {UUID: gputest.UUID(1)},
	})
	a := newAgent(t, gpunvml.New(n.Lib, nil), n, false)
	u0, u1 := gputest.UUID(0), gputest.UUID(1)
	first, _ := a.page(t)
	for _, want := range []string{
		`jobscope_gpu_xid_events_total{gpu="0",uuid="` + u0 + `"} 0`,
		`jobscope_gpu_xid_errors_total{gpu="0",uuid="` + u0 + `",xid="79"} 0`,
		`jobscope_gpu_xid_errors_total{gpu="0",uuid="` + u0 + `",xid="48"} 0`,
	} {
		if !strings.Contains(first, want+"\n") {
			t.Errorf("first scrape lacks %q", want)
		}
	}
	if strings.Contains(first, `uuid="`+u1+`",xid=`) || strings.Contains(first, `jobscope_gpu_xid_events_total{gpu="1"`) {
		t.Errorf("a GPU not registered for XID events has XID series:\n%s", first)
	}
	if strings.Contains(first, `xid="13"`) {
		t.Error("an application-level XID is pre-created")
	}

	n.Queue(nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeXidCriticalError, EventData: 79},
		nvml.EventData{Device: n.Device(0), EventType: nvml.EventTypeXidCriticalError, EventData: 13})
	a.clock.t = a.clock.t.Add(30 * time.Second)
	second, _ := a.page(t)
	for _, want := range []string{
		`jobscope_gpu_xid_events_total{gpu="0",uuid="` + u0 + `"} 2`,
		`jobscope_gpu_xid_errors_total{gpu="0",uuid="` + u0 + `",xid="79"} 1`,
		`jobscope_gpu_xid_errors_total{gpu="0",uuid="` + u0 + `",xid="13"} 1`,
		`jobscope_gpu_xid_errors_total{gpu="0",uuid="` + u0 + `",xid="48"} 0`,
	} {
		if !strings.Contains(second, want+"\n") {
			t.Errorf("second scrape lacks %q", want)
		}
	}
}

// TestBackendReasonLabel: jobscope_gpu_backend_up says why, as a label
// value from the documented set, and "" while the backend reads the GPUs.
func TestBackendReasonLabel(t *testing.T) {
	for ret, want := range map[nvml.Return]string{
		nvml.SUCCESS:                 `jobscope_gpu_backend_up{backend="nvml",reason=""} 1`,
		nvml.ERROR_DRIVER_NOT_LOADED: `jobscope_gpu_backend_up{backend="nvml",reason="driver_not_loaded"} 0`,
		nvml.ERROR_NO_PERMISSION:     `jobscope_gpu_backend_up{backend="nvml",reason="no_permission"} 0`,
	} {
		n := gputest.NewNode("580.105.08", ret, []gputest.GPU{{UUID: gputest.UUID(0)}})
		page, _ := newAgent(t, gpunvml.New(n.Lib, nil), n, false).page(t)
		if !strings.Contains(page, want+"\n") {
			t.Errorf("init %v: page lacks %q", ret, want)
		}
	}
	page, _ := newAgent(t, dcgm.New("http://127.0.0.1:1/metrics", nil), nil, false).page(t)
	if want := `jobscope_gpu_backend_up{backend="dcgm",reason="unreachable"} 0`; !strings.Contains(page, want+"\n") {
		t.Errorf("dcgm exporter down: page lacks %q", want)
	}
	for _, r := range gpu.Reasons {
		if !strings.Contains(docText(t), "`"+r+"`") {
			t.Errorf("reason %q is not in docs/metrics-node.md", r)
		}
	}
}

func docText(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics-node.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInvalidUTF8LabelRepaired: a label value that is not UTF-8 (a GPU
// model name as a broken driver might report it) is repaired with U+FFFD
// on both scrape paths, as Emitter did, and the collector still succeeds.
func TestInvalidUTF8LabelRepaired(t *testing.T) {
	n := gputest.NewNode("580.105.08", nvml.SUCCESS, []gputest.GPU{{UUID: gputest.UUID(0), Name: "NVIDIA H100\xff"}})
	page, reg := newAgent(t, gpunvml.New(n.Lib, nil), n, false).page(t)
	for _, want := range []string{`model="NVIDIA H100` + "\uFFFD" + `"`, `jobscope_scrape_collector_success{collector="gpu"} 1` + "\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	golden.LintGatherer(t, reg)
}
