package infiniband

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"jobscope/collectors"
	"jobscope/collectors/node"
	"jobscope/infiniband"
	"jobscope/slurm/nodelocal"
	"jobscope/test/testkit"
)

// gather scrapes once and returns the families by name.
func gather(t *testing.T, reg *prometheus.Registry, a *adapter) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if a.err != nil {
		t.Fatalf("update: %v", a.err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// sample is sampleRaw for the family jobscope_infiniband_<name>.
func sample(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	t.Helper()
	return sampleRaw(mfs, "jobscope_infiniband_"+name, labels...)
}

func mustSample(t *testing.T, mfs map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := sample(t, mfs, name, labels...)
	if !ok {
		t.Errorf("%s%v: no series", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func mustAbsent(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) {
	t.Helper()
	if v, ok := sample(t, mfs, name, labels...); ok {
		t.Errorf("%s%v = %v, want no series", name, labels, v)
	}
}

func TestSaturation(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 1)
	c := newCollector(t, Options{SysFS: g.root, Config: Config{Counters: CountersAll}})
	reg, a := registry(t, c)
	for _, tc := range []struct {
		counter string
		max     uint64
	}{
		{"excessive_buffer_overrun_errors", 15}, {"local_link_integrity_errors", 15},
		{"link_downed", 255}, {"link_error_recovery", 255}, {"port_xmit_constraint_errors", 255},
		{"port_rcv_constraint_errors", 255}, {"symbol_error", 65535}, {"port_rcv_errors", 65535},
		{"port_xmit_discards", 65535}, {"VL15_dropped", 65535}, {"port_xmit_wait", 1<<32 - 1},
	} {
		g.set(t, 0, "counters", tc.counter, tc.max-1)
		mustSample(t, gather(t, reg, a), 0, "port_pma_saturated", "device=mlx5_0", "counter="+tc.counter)
		g.set(t, 0, "counters", tc.counter, tc.max)
		mfs := gather(t, reg, a)
		mustSample(t, mfs, 1, "port_pma_saturated", "device=mlx5_0", "counter="+tc.counter)
		mustSample(t, mfs, float64(tc.max), "port_pma_total", "device=mlx5_0", "counter="+tc.counter)
	}
	// Extended (64-bit) data counters cannot saturate: no series.
	g.set(t, 0, "counters", "port_xmit_data", 1<<32-1)
	mustAbsent(t, gather(t, reg, a), "port_pma_saturated", "device=mlx5_0", "counter=port_xmit_data")

	// The default set reads the unicast/multicast files no more, but they
	// still say the table is extended: no saturation series for the data
	// counters. The error counters of the default set keep theirs; the
	// opt-in ones have none.
	reg, a = registry(t, newCollector(t, Options{SysFS: g.root}))
	mfs := gather(t, reg, a)
	mustAbsent(t, mfs, "port_pma_saturated", "device=mlx5_0", "counter=port_xmit_data")
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_0", "counter=unicast_xmit_packets")
	mustSample(t, mfs, 1, "port_pma_saturated", "device=mlx5_0", "counter=VL15_dropped")
	mustAbsent(t, mfs, "port_pma_saturated", "device=mlx5_0", "counter=port_rcv_constraint_errors")

	// A legacy 32-bit table (no unicast/multicast files, small values; a
	// port of another HCA, as the table is fixed while a driver is loaded):
	// 2^32-1 is saturation.
	for _, f := range []string{"unicast_xmit_packets", "unicast_rcv_packets", "multicast_xmit_packets", "multicast_rcv_packets"} {
		if err := os.Remove(filepath.Join(g.portDir(0), "counters", f)); err != nil {
			t.Fatal(err)
		}
	}
	reg, a = registry(t, newCollector(t, Options{SysFS: g.root}))
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 1, "port_pma_saturated", "device=mlx5_0", "counter=port_xmit_data")
	mustSample(t, mfs, 0, "port_pma_saturated", "device=mlx5_0", "counter=port_rcv_data")
	// hw_counters are 64-bit: no saturation series.
	mustAbsent(t, mfs, "port_pma_saturated", "counter=out_of_buffer")
}

func TestResetKeepsTotalsMonotonic(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 1)
	c := newCollector(t, Options{SysFS: g.root})
	reg, a := registry(t, c)
	g.set(t, 0, "counters", "port_rcv_data", 1000)
	g.set(t, 0, "counters", "symbol_error", 7)
	g.set(t, 0, "hw_counters", "out_of_buffer", 50)
	mfs := gather(t, reg, a)
	mustSample(t, mfs, 4000, "port_received_bytes_total", "device=mlx5_0", "port=1")
	mustSample(t, mfs, 0, "port_stat_resets_total", "device=mlx5_0", "port=1")

	g.set(t, 0, "counters", "port_rcv_data", 1500)
	mustSample(t, gather(t, reg, a), 6000, "port_received_bytes_total", "device=mlx5_0")

	// perfquery -R: everything back to (near) zero.
	g.set(t, 0, "counters", "port_rcv_data", 100)
	g.set(t, 0, "counters", "symbol_error", 0)
	g.set(t, 0, "hw_counters", "out_of_buffer", 5)
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 6400, "port_received_bytes_total", "device=mlx5_0")
	mustSample(t, mfs, 7, "port_pma_total", "device=mlx5_0", "counter=symbol_error")
	mustSample(t, mfs, 55, "port_hw_stats_total", "device=mlx5_0", "counter=out_of_buffer")
	// Two counters went down (symbol_error went to 0, which is not a
	// decrease from... it is: 7 -> 0), three in all.
	mustSample(t, mfs, 3, "port_stat_resets_total", "device=mlx5_0", "port=1")

	g.set(t, 0, "counters", "port_rcv_data", 200)
	mustSample(t, gather(t, reg, a), 6800, "port_received_bytes_total", "device=mlx5_0")
}

func TestDegradedLink(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 2)
	c := newCollector(t, Options{SysFS: g.root, Config: Config{
		ExpectedRate:  []string{"mlx5_0=400", "mlx5_.*=200"},
		ExpectedWidth: []string{"mlx5_.*=4"},
	}})
	reg, a := registry(t, c)
	mfs := gather(t, reg, a)
	mustSample(t, mfs, 0, "port_link_degraded", "device=mlx5_0")
	mustSample(t, mfs, 0, "port_link_degraded", "device=mlx5_1") // 400 >= 200
	mustSample(t, mfs, 50e9, "port_expected_rate_bytes_per_second", "device=mlx5_0")
	mustSample(t, mfs, 25e9, "port_expected_rate_bytes_per_second", "device=mlx5_1")

	// Trained at HDR: rate below expectation.
	g.setFile(t, 0, "rate", "200 Gb/sec (4X HDR)\n")
	// Trained on 2 lanes: width below expectation.
	g.setFile(t, 1, "rate", "200 Gb/sec (2X NDR)\n")
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 1, "port_link_degraded", "device=mlx5_0")
	mustSample(t, mfs, 1, "port_link_degraded", "device=mlx5_1")
	mustSample(t, mfs, 2, "port_link_width_lanes", "device=mlx5_1")

	// A port that is down is not "degraded": its state says so.
	g.setFile(t, 0, "state", "1: DOWN\n")
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 0, "port_link_degraded", "device=mlx5_0")
	mustSample(t, mfs, 1, "port_state", "device=mlx5_0", "state=down")
}

func TestFilesVanishBetweenReads(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 2)
	c := newCollector(t, Options{SysFS: g.root})
	reg, a := registry(t, c)
	// The reader lists a directory, then reads each file; the filter hook
	// runs in between, so removing files there is the race a driver
	// unload or a VF going away produces.
	removed := false
	inner := c.reader.Counter
	c.reader.Counter = func(gr infiniband.Group, name string) bool {
		if !removed && name == "VL15_dropped" { // the first file listed
			removed = true
			for _, f := range []string{"counters/symbol_error", "counters/port_rcv_data", "hw_counters/out_of_buffer", "rate"} {
				if err := os.Remove(filepath.Join(g.portDir(0), f)); err != nil {
					t.Error(err)
				}
			}
		}
		return inner(gr, name)
	}
	// An unreadable counter (a directory where a file should be: EISDIR)
	// and one that reads N/A.
	if err := os.Remove(filepath.Join(g.portDir(1), "counters", "link_downed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(g.portDir(1), "counters", "link_downed"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.setFile(t, 1, "counters/symbol_error", "N/A (no PMA)\n")
	g.setFile(t, 1, "hw_counters/out_of_buffer", "garbage\n")

	mfs := gather(t, reg, a)
	// Removed after listing: those values only are gone ...
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_0", "counter=symbol_error")
	mustAbsent(t, mfs, "port_received_bytes_total", "device=mlx5_0")
	mustAbsent(t, mfs, "port_hw_stats_total", "device=mlx5_0", "counter=out_of_buffer")
	// ... and the rate file was read before the hook ran, so it is there
	// in this scrape; everything else of the port is there too.
	mustSample(t, mfs, 3, "port_pma_total", "device=mlx5_0", "counter=port_rcv_errors")
	mustSample(t, mfs, 4*13000, "port_transmitted_bytes_total", "device=mlx5_0")
	mustSample(t, mfs, 4, "port_state_id", "device=mlx5_0")
	// hw_counters/ is listed after the removal: its file is simply not
	// there, not an error; the two counters/ files listed then gone are.
	mustSample(t, mfs, 2, "read_errors_total", "device=mlx5_0", "reason=missing")
	// Device 1: one EISDIR, one N/A, one parse error; the rest is there.
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_1", "counter=link_downed")
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_1", "counter=symbol_error")
	mustSample(t, mfs, 2, "port_pma_total", "device=mlx5_1", "counter=link_error_recovery")
	mustSample(t, mfs, 1, "read_errors_total", "device=mlx5_1", "reason=read")
	mustSample(t, mfs, 1, "read_errors_total", "device=mlx5_1", "reason=not_available")
	mustSample(t, mfs, 1, "read_errors_total", "device=mlx5_1", "reason=parse")

	// Next scrape: the rate file is now missing too, the port stays.
	mfs = gather(t, reg, a)
	mustAbsent(t, mfs, "port_rate_bytes_per_second", "device=mlx5_0")
	mustSample(t, mfs, 1, "port_state", "device=mlx5_0", "state=active")
	mustSample(t, mfs, 3, "read_errors_total", "device=mlx5_0", "reason=missing") // 2 + the rate

	// A whole device vanishing takes its series with it, and the
	// collector keeps working.
	if err := os.Remove(filepath.Join(g.root, "class", "infiniband", "mlx5_0")); err != nil {
		t.Fatal(err)
	}
	mfs = gather(t, reg, a)
	mustAbsent(t, mfs, "port_state_id", "device=mlx5_0")
	mustSample(t, mfs, 4, "port_state_id", "device=mlx5_1")
}

// TestNoInfiniBand: a sysfs without class/infiniband is a host without
// HCA: the collector succeeds with nothing to export and logs nothing at
// the default level.
func TestNoInfiniBand(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "class"), 0o755); err != nil {
		t.Fatal(err)
	}
	success, logged := scrapeThroughFramework(t, root, 2)
	if success != 1 {
		t.Errorf("collector success %v without HCA, want 1", success)
	}
	if logged != "" {
		t.Errorf("logged at the default level without HCA:\n%s", logged)
	}
}

// TestSysfsNotThere: --path.sysfs=/nonexistent, or a directory that is no
// sysfs, is a wrong flag, not "no HCA": the collector fails, and one
// warning names the path and the cause however many scrapes fail; the
// recovery is logged once.
func TestSysfsNotThere(t *testing.T) {
	for name, root := range map[string]string{
		"missing":     filepath.Join(t.TempDir(), "nonexistent"),
		"not a sysfs": t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			success, logged := scrapeThroughFramework(t, root, 3)
			if success != 0 {
				t.Errorf("collector success %v, want 0", success)
			}
			lines := strings.Split(strings.TrimSpace(logged), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], root) ||
				!strings.Contains(lines[0], "not a sysfs mount") {
				t.Errorf("want one warning naming %s, got:\n%s", root, logged)
			}
		})
	}
	// Recovery: the same collector finds a sysfs at the path later.
	root := filepath.Join(t.TempDir(), "sys")
	var buf testkit.SyncBuffer
	c := newCollector(t, Options{SysFS: root, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	ch := make(chan prometheus.Metric, 1000)
	if err := c.Update(context.Background(), ch); !errors.Is(err, collectors.ErrNoData) {
		t.Fatalf("Update on a missing sysfs = %v", err)
	}
	writeGenTree(t, root, 1)
	for range 2 {
		if err := c.Update(context.Background(), ch); err != nil {
			t.Fatalf("Update on a sysfs = %v", err)
		}
	}
	if got := buf.String(); strings.Count(got, "level=WARN") != 1 || strings.Count(got, "level=INFO") != 1 ||
		!strings.Contains(got, "readable again") {
		t.Errorf("want one warning and one recovery line, got:\n%s", got)
	}
}

// scrapeThroughFramework runs the infiniband collector scrapes times as the
// node command does (its Set, the default log level) and returns its last
// success value and what was logged after start-up.
func scrapeThroughFramework(t *testing.T, sysfs string, scrapes int) (float64, string) {
	t.Helper()
	var buf testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	set := collectors.NewSet[node.Deps]()
	Register(set, nil)
	r, err := set.Build(node.Deps{Paths: node.Paths{SysFS: sysfs}, Logger: logger}, logger)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset() // "enabled collectors"
	var success float64 = -1
	for range scrapes {
		s, err := r.Scrape(context.Background(), Name)
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(s)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "jobscope_scrape_collector_success" {
				success = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	return success, buf.String()
}

func TestFilters(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 3)
	// The default set, two opt-in files added and one default file
	// taken out.
	c := newCollector(t, Options{SysFS: g.root, Config: Config{
		DeviceInclude: "mlx5_[01]", DeviceExclude: "mlx5_1",
		CounterInclude: "unicast_xmit_packets|rx_dct_connect", CounterExclude: "port_xmit_wait",
	}})
	reg, a := registry(t, c)
	mfs := gather(t, reg, a)
	mustSample(t, mfs, 4, "port_state_id", "device=mlx5_0")
	mustAbsent(t, mfs, "port_state_id", "device=mlx5_1")
	mustAbsent(t, mfs, "port_state_id", "device=mlx5_2")
	mustSample(t, mfs, 0, "port_pma_total", "device=mlx5_0", "counter=symbol_error")
	mustSample(t, mfs, 2, "port_pma_total", "device=mlx5_0", "counter=link_downed")
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_0", "counter=port_xmit_wait")
	mustAbsent(t, mfs, "port_pma_saturated", "device=mlx5_0", "counter=port_xmit_wait")
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_0", "counter=port_rcv_switch_relay_errors")
	mustSample(t, mfs, 17000, "port_unicast_transmitted_packets_total", "device=mlx5_0")
	mustAbsent(t, mfs, "port_unicast_received_packets_total", "device=mlx5_0")
	mustSample(t, mfs, 7*27, "port_hw_stats_total", "device=mlx5_0", "counter=rx_dct_connect")
	mustSample(t, mfs, 7*5, "port_hw_stats_total", "device=mlx5_0", "counter=out_of_buffer")
	mustAbsent(t, mfs, "port_hw_stats_total", "device=mlx5_0", "counter=rx_write_requests")
	mustAbsent(t, mfs, "port_hw_stats_lifespan_seconds", "device=mlx5_0")

	// all: every file, less the excluded.
	reg, a = registry(t, newCollector(t, Options{SysFS: g.root, Config: Config{Counters: CountersAll, CounterExclude: "port_xmit_wait|lifespan"}}))
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 9, "port_pma_total", "device=mlx5_2", "counter=port_xmit_constraint_errors")
	mustSample(t, mfs, 7*30+2, "port_hw_stats_total", "device=mlx5_2", "counter=rx_write_requests")
	mustAbsent(t, mfs, "port_pma_total", "device=mlx5_2", "counter=port_xmit_wait")
	mustAbsent(t, mfs, "port_hw_stats_lifespan_seconds", "device=mlx5_2")

	for _, bad := range []Config{
		{Counters: "some"},
		{DeviceInclude: "("}, {CounterExclude: "[z-a]"},
		{ExpectedRate: []string{"mlx5"}}, {ExpectedRate: []string{"mlx5=fast"}},
		{ExpectedWidth: []string{"(=4"}}, {ExpectedWidth: []string{"x=-4"}},
	} {
		if _, err := New(Options{SysFS: g.root, Config: bad}); err == nil {
			t.Errorf("New(%+v) accepted a bad flag", bad)
		}
	}
}

func TestJobAttribution(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 4)
	clock := &fixedClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	var jobs []Job
	c := newCollector(t, Options{SysFS: g.root, Jobs: func() []Job { return jobs }, Now: clock.now})
	reg, a := registry(t, c)
	rx := func(i int, words uint64) { g.set(t, i, "counters", "port_rcv_data", words) }
	tx := func(i int, words uint64) { g.set(t, i, "counters", "port_xmit_data", words) }
	for i := 0; i < 4; i++ {
		rx(i, 1000)
		tx(i, 1000)
		g.set(t, i, "counters", "port_rcv_packets", 10)
	}
	mfs := gather(t, reg, a)
	if _, ok := mfs["jobscope_infiniband_job_received_bytes_total"]; ok {
		t.Fatal("job series without jobs")
	}

	// Job 1 holds the node; it started between the last scrape and now, at
	// three quarters of the interval: it gets a quarter of the traffic.
	clock.t = clock.t.Add(60 * time.Second)
	jobs = []Job{{ID: "1", Start: clock.t.Add(-15 * time.Second), GPUPCIBusIDs: []string{gpuBusID(0), gpuBusID(1), gpuBusID(2), gpuBusID(3)}}}
	rx(0, 2000) // +4000 octets
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 1000, "job_received_bytes_total", "job_id=1", "device=mlx5_0", "attribution=exclusive")
	mustSample(t, mfs, 0, "job_received_bytes_total", "job_id=1", "device=mlx5_3", "attribution=exclusive")

	clock.t = clock.t.Add(60 * time.Second)
	rx(0, 3000)
	rx(3, 1500)
	tx(3, 1250)
	g.set(t, 3, "counters", "port_rcv_packets", 30)
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 5000, "job_received_bytes_total", "job_id=1", "device=mlx5_0", "port=1", "attribution=exclusive")
	mustSample(t, mfs, 2000, "job_received_bytes_total", "job_id=1", "device=mlx5_3", "attribution=exclusive")
	mustSample(t, mfs, 1000, "job_transmitted_bytes_total", "job_id=1", "device=mlx5_3", "attribution=exclusive")
	mustSample(t, mfs, 20, "job_received_packets_total", "job_id=1", "device=mlx5_3", "attribution=exclusive")

	// A counter reset on the port does not take from the job.
	clock.t = clock.t.Add(60 * time.Second)
	rx(0, 10)
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 5040, "job_received_bytes_total", "job_id=1", "device=mlx5_0", "attribution=exclusive")

	// Job 1 ends; jobs 2 (GPUs 0 and 1) and 3 (GPU 3) share the node. They
	// start at 0 (they started before the last scrape) and each gets the
	// HCAs next to its GPUs.
	clock.t = clock.t.Add(60 * time.Second)
	start := clock.t.Add(-90 * time.Second)
	jobs = []Job{
		{ID: "2", Start: start, GPUPCIBusIDs: []string{gpuBusID(0), gpuBusID(1)}},
		{ID: "3", Start: start, GPUPCIBusIDs: []string{gpuBusID(3), ""}},
	}
	mfs = gather(t, reg, a)
	mustAbsent(t, mfs, "job_received_bytes_total", "job_id=1")
	mustSample(t, mfs, 0, "job_received_bytes_total", "job_id=2", "device=mlx5_0", "attribution=shared-nearest-hca")
	mustSample(t, mfs, 0, "job_received_bytes_total", "job_id=2", "device=mlx5_1", "attribution=shared-nearest-hca")
	mustAbsent(t, mfs, "job_received_bytes_total", "job_id=2", "device=mlx5_3")
	mustSample(t, mfs, 0, "job_received_bytes_total", "job_id=3", "device=mlx5_3", "attribution=shared-nearest-hca")
	mustAbsent(t, mfs, "job_received_bytes_total", "job_id=3", "device=mlx5_0")

	clock.t = clock.t.Add(60 * time.Second)
	rx(0, 1010) // +4000
	rx(1, 1100) // +400
	rx(3, 2500) // +4000
	rx(2, 9000) // nobody's GPUs: attributed to no job
	mfs = gather(t, reg, a)
	mustSample(t, mfs, 4000, "job_received_bytes_total", "job_id=2", "device=mlx5_0")
	mustSample(t, mfs, 400, "job_received_bytes_total", "job_id=2", "device=mlx5_1")
	mustSample(t, mfs, 4000, "job_received_bytes_total", "job_id=3", "device=mlx5_3")
	mustAbsent(t, mfs, "job_received_bytes_total", "device=mlx5_2")

	jobs = nil
	mfs = gather(t, reg, a)
	if _, ok := mfs["jobscope_infiniband_job_received_bytes_total"]; ok {
		t.Error("job series outlive their jobs")
	}
}

func TestRegisterWithNodeDeps(t *testing.T) {
	g := writeGenTree(t, t.TempDir(), 2)
	set := collectors.NewSet[node.Deps]()
	Register(set, nil)
	if names := set.Names(); len(names) != 1 || names[0] != Name {
		t.Fatalf("registered %v", names)
	}
	deps := node.Deps{
		Paths: node.Paths{SysFS: g.root},
		Jobs: func() []nodelocal.LocalJob {
			return []nodelocal.LocalJob{{ID: "42", GPUUUIDs: []string{"GPU-x"}, GPUPCIBusIDs: []string{gpuBusID(1)}}}
		},
		Now: time.Now,
	}
	r, err := set.Build(deps, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := r.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(pc); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	mustSample(t, byName, 0, "job_received_bytes_total", "job_id=42", "device=mlx5_1", "attribution=exclusive")
	if v, ok := sampleRaw(byName, "jobscope_scrape_collector_success", "collector=infiniband"); !ok || v != 1 {
		t.Errorf("collector success = %v, %v", v, ok)
	}
}
