package dcgm

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"jobscope/gpu"
)

func parseFile(t *testing.T, name string) *gpu.Snapshot {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	snap, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParseRecordedPages(t *testing.T) {
	tests := []struct {
		file           string
		uuid, pci, mod string
		driver         string
		smHz, memHz    float64
		temp           gpu.Reading
		power, energyJ gpu.Reading
		memTotal       float64
		dram           gpu.Reading
	}{
		{"dcgm-exporter-L4-kops.prom", "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c", "00000000:31:00.0", "NVIDIA L4", "580.105.08",
			210e6, 405e6, gpu.R(31), gpu.R(16.365), gpu.R(4742.776), (22563 + 0 + 470) * mib, gpu.R(0)},
		{"dcgm-exporter-L40S-upcloud.prom", "GPU-5b4e07f6-3a86-4340-039d-25f2a83cdc43", "00000000:00:07.0", "NVIDIA L40S", "595.58.03",
			210e6, 405e6, gpu.R(32), gpu.R(35.686), gpu.R(5551899.58), (45459 + 0 + 608) * mib, gpu.R(0.000131)},
		// A vGPU guest exports no power, energy, GPU temperature or profiling.
		{"dcgm-exporter-GRID-A100-10C-vgpu-vks.prom", "GPU-44d2411e-1604-478f-aa96-5a3c00000000", "00000000:03:00.0", "GRID A100-10C", "580.126.09",
			1410e6, 1215e6, gpu.Reading{}, gpu.Reading{}, gpu.Reading{}, (9323 + 0 + 916) * mib, gpu.Reading{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			snap := parseFile(t, tt.file)
			if len(snap.Devices) != 1 {
				t.Fatalf("got %d devices, want 1", len(snap.Devices))
			}
			d := snap.Devices[0]
			if d.UUID != tt.uuid || d.Index != 0 || d.Minor != 0 || d.PCIBusID != tt.pci || d.Model != tt.mod ||
				d.Parent != "" || d.GPUInstanceID != -1 || snap.DriverVersion != tt.driver || snap.Backend != "dcgm" {
				t.Errorf("identity: %+v driver %q", d, snap.DriverVersion)
			}
			checks := []struct {
				name      string
				got, want gpu.Reading
			}{
				{"sm clock", d.ClockSM, gpu.R(tt.smHz)},
				{"memory clock", d.ClockMemory, gpu.R(tt.memHz)},
				{"gpu temperature", d.TempGPU, tt.temp},
				// DCGM reports 0 where no HBM sensor exists (L4, L40S:
				// GDDR; the vGPU guest): absent, never 0.
				{"memory temperature", d.TempMemory, gpu.Reading{}},
				{"power", d.Power, tt.power},
				{"energy", d.Energy, tt.energyJ},
				{"memory used", d.MemoryUsed, gpu.R(0)},
				{"memory total", d.MemoryTotal, gpu.R(tt.memTotal)},
				{"utilization", d.Utilization, gpu.R(0)},
				{"dram active", d.DRAMActive, tt.dram},
				{"last xid (not in these pages)", d.LastXID, gpu.Reading{}},
			}
			for _, c := range checks {
				if c.got.OK != c.want.OK || !near(c.got.Value, c.want.Value) {
					t.Errorf("%s = %+v, want %+v", c.name, c.got, c.want)
				}
			}
		})
	}
}

// migPage is synthetic (no recorded MIG page was available): the labels are
// those dcgm-exporter 4.x documents, with the 2026 lower-case `hostname`
// and `uuid`, MIG series keyed by GPU_I_ID/GPU_I_PROFILE, an FB_TOTAL field,
// the clock-event bitmask, ECC, NVLink and XID fields, and pod labels that
// must be ignored.
const migPage = `# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",uuid="GPU-aaaa",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",hostname="n1",DCGM_FI_DRIVER_VERSION="590.1"} 93
DCGM_FI_DEV_GPU_UTIL{gpu="1",uuid="GPU-bbbb",pci_bus_id="00000000:28:00.0",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",hostname="n1"} 0
# TYPE DCGM_FI_DEV_FB_TOTAL gauge
DCGM_FI_DEV_FB_TOTAL{gpu="0",uuid="GPU-aaaa",device="nvidia0",hostname="n1"} 81559
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{gpu="0",uuid="GPU-aaaa",device="nvidia0",hostname="n1"} 1000
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",uuid="GPU-aaaa",device="nvidia0",hostname="n1",namespace="ml",pod="train-0",container="main"} 80000
DCGM_FI_DEV_FB_USED{gpu="1",uuid="GPU-bbbb",device="nvidia1",GPU_I_ID="1",GPU_I_PROFILE="3g.40gb",hostname="n1"} 2048
DCGM_FI_DEV_FB_USED{gpu="1",uuid="GPU-bbbb",device="nvidia1",GPU_I_ID="2",GPU_I_PROFILE="3g.40gb",hostname="n1"} 0
# TYPE DCGM_FI_DEV_CLOCKS_EVENT_REASONS gauge
DCGM_FI_DEV_CLOCKS_EVENT_REASONS{gpu="0",uuid="GPU-aaaa",device="nvidia0"} 68
# TYPE DCGM_FI_DEV_XID_ERRORS gauge
DCGM_FI_DEV_XID_ERRORS{gpu="0",uuid="GPU-aaaa",device="nvidia0"} 79
# TYPE DCGM_FI_DEV_ECC_DBE_VOL_TOTAL counter
DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{gpu="0",uuid="GPU-aaaa",device="nvidia0"} 2
# TYPE DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL counter
DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL{gpu="0",uuid="GPU-aaaa",device="nvidia0"} 7
# TYPE DCGM_FI_PROF_SM_ACTIVE gauge
DCGM_FI_PROF_SM_ACTIVE{gpu="1",uuid="GPU-bbbb",device="nvidia1",GPU_I_ID="1",GPU_I_PROFILE="3g.40gb"} 0.25
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{gpu="2",pci_bus_id="00000000:38:00.0"} 40
# TYPE unrelated_metric gauge
unrelated_metric{uuid="GPU-aaaa"} 1
`

func TestParseMIGAndNewLabels(t *testing.T) {
	snap, err := Parse(strings.NewReader(migPage))
	if err != nil {
		t.Fatal(err)
	}
	// The series without any UUID (gpu="2") is skipped.
	if len(snap.Devices) != 4 {
		t.Fatalf("got %d devices, want GPU-aaaa, GPU-bbbb and its two instances: %+v", len(snap.Devices), snap.Devices)
	}
	h := snap.Devices[0]
	if h.UUID != "GPU-aaaa" || h.Minor != 0 || !near(h.Utilization.Value, 0.93) || snap.DriverVersion != "590.1" {
		t.Errorf("H100 identity: %+v", h)
	}
	if h.MemoryTotal != gpu.R(81559*mib) || h.MemoryUsed != gpu.R(80000*mib) {
		t.Errorf("FB_TOTAL must win over FREE+USED: total %+v used %+v", h.MemoryTotal, h.MemoryUsed)
	}
	if h.LastXID != gpu.R(79) || h.XIDs != nil {
		t.Errorf("XID is the last code, not a count: %+v %v", h.LastXID, h.XIDs)
	}
	if !h.Throttle[2].Active || !h.Throttle[6].Active || h.Throttle[0].Active {
		t.Errorf("bitmask 68 = sw_power_cap|hw_thermal_slowdown: %+v", h.Throttle)
	}
	if len(h.ECC) != 1 || h.ECC[0] != (gpu.ECCCount{Type: "uncorrected", Counter: "volatile", Count: 2}) {
		t.Errorf("ECC %+v", h.ECC)
	}
	if len(h.NVLinkErrors) != 1 || h.NVLinkErrors[0] != (gpu.NVLinkCount{Type: "crc_flit", Count: 7}) {
		t.Errorf("NVLink %+v", h.NVLinkErrors)
	}
	parent, mig1, mig2 := snap.Devices[1], snap.Devices[2], snap.Devices[3]
	if parent.UUID != "GPU-bbbb" || parent.GPUInstanceID != -1 || parent.MemoryUsed.OK {
		t.Errorf("MIG parent %+v", parent)
	}
	if mig1.UUID != "GPU-bbbb/1" || mig1.Parent != "GPU-bbbb" || mig1.GPUInstanceID != 1 || mig1.MIGProfile != "3g.40gb" ||
		mig1.Index != 1 || mig1.MemoryUsed != gpu.R(2048*mib) || mig1.SMActive != gpu.R(0.25) {
		t.Errorf("MIG instance 1 %+v", mig1)
	}
	if mig2.UUID != "GPU-bbbb/2" || mig2.MemoryUsed != gpu.R(0) {
		t.Errorf("MIG instance 2 %+v", mig2)
	}
}

func TestParseBadInput(t *testing.T) {
	for _, in := range []string{
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\" 5\n",     // unterminated labels
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\"} five\n", // not a number
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
	// No DCGM family at all: not a DCGM exporter's page.
	for _, in := range []string{"", "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\n"} {
		if snap, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrNotDCGM) {
			t.Errorf("Parse(%q) = %+v, %v, want ErrNotDCGM", in, snap, err)
		}
	}
	// DCGM families without a GPU UUID: a DCGM page with no devices.
	snap, err := Parse(strings.NewReader(`DCGM_FI_DEV_GPU_UTIL{gpu="0"} 5` + "\n"))
	if err != nil || len(snap.Devices) != 0 {
		t.Errorf("DCGM page without UUIDs: %v %+v", err, snap)
	}
	// A bad GPU_I_ID skips that series only.
	snap, err = Parse(strings.NewReader(`DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",GPU_I_ID="x"} 5` + "\n" +
		`DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 5` + "\n"))
	if err != nil || len(snap.Devices) != 1 || snap.Devices[0].UUID != "GPU-a" {
		t.Errorf("bad GPU_I_ID: %v %+v", err, snap)
	}
}

func TestBackendHTTP(t *testing.T) {
	page, err := os.ReadFile("testdata/dcgm-exporter-L4-kops.prom")
	if err != nil {
		t.Fatal(err)
	}
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		if _, err := w.Write(page); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	b := New(srv.URL, nil)
	snap, err := b.Snapshot(context.Background())
	if err != nil || len(snap.Devices) != 1 || snap.Taken.IsZero() {
		t.Fatalf("Snapshot() = %+v, %v", snap, err)
	}
	status = http.StatusInternalServerError
	if _, err := b.Snapshot(context.Background()); !errors.Is(err, gpu.ErrUnavailable) || gpu.Reason(err) != gpu.ReasonHTTPStatus {
		t.Errorf("HTTP 500: %v (reason %q), want ErrUnavailable, http_status", err, gpu.Reason(err))
	}
	srv.Close()
	if _, err := b.Snapshot(context.Background()); !errors.Is(err, gpu.ErrUnavailable) || gpu.Reason(err) != gpu.ReasonUnreachable {
		t.Errorf("exporter down: %v (reason %q), want ErrUnavailable, unreachable", err, gpu.Reason(err))
	}
}

// Every reason the dcgm backend gives, each from a real HTTP exchange.
func TestBackendReasons(t *testing.T) {
	l4, err := os.ReadFile("testdata/dcgm-exporter-L4-kops.prom")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(contentType, body string, delay time.Duration) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", contentType)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	tests := []struct {
		name, url, reason string
	}{
		{"dcgm page", serve("text/plain; version=0.0.4", string(l4), 0), ""},
		{"connection refused", closed.URL, gpu.ReasonUnreachable},
		{"404", notFound.URL + "/metrics", gpu.ReasonHTTPStatus},
		{"web server", serve("text/html", "<!DOCTYPE HTML><html><body>It works!</body></html>", 0), gpu.ReasonNotDCGM},
		{"another exporter", serve("text/plain; version=0.0.4", "# TYPE node_load1 gauge\nnode_load1 0.5\n", 0), gpu.ReasonNotDCGM},
		{"broken dcgm page", serve("text/plain; version=0.0.4", `DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} five`+"\n", 0), gpu.ReasonParseError},
		{"slow exporter", serve("text/plain; version=0.0.4", string(l4), time.Minute), gpu.ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.url, &http.Client{Timeout: 200 * time.Millisecond})
			_, err := b.Snapshot(context.Background())
			if got := gpu.Reason(err); got != tt.reason {
				t.Errorf("reason %q (%v), want %q", got, err, tt.reason)
			}
			if tt.reason != "" && !errors.Is(err, gpu.ErrUnavailable) {
				t.Errorf("%v does not wrap ErrUnavailable", err)
			}
		})
	}
	// The scrape's own deadline is a timeout too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = New(serve("text/plain", string(l4), time.Minute), nil).Snapshot(ctx)
	if gpu.Reason(err) != gpu.ReasonTimeout {
		t.Errorf("scrape deadline: reason %q (%v), want timeout", gpu.Reason(err), err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"dcgm-exporter-L4-kops.prom", "dcgm-exporter-GRID-A100-10C-vgpu-vks.prom", "dcgm-exporter-A100-MIG-derived.prom"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(migPage)
	f.Fuzz(func(t *testing.T, page string) {
		snap, err := Parse(strings.NewReader(page))
		if err != nil {
			return
		}
		for _, d := range snap.Devices {
			if d.UUID == "" {
				t.Fatalf("device without UUID: %+v", d)
			}
			if d.Parent != "" && d.GPUInstanceID < 0 {
				t.Fatalf("MIG instance without GI: %+v", d)
			}
		}
	})
}

// A field list without FB_FREE (sites trim dcgm-exporter's CSV) gives no
// total: USED alone (plus RESERVED) is not the GPU's memory.
func TestParseNoFBFree(t *testing.T) {
	page := `# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-aaaa",device="nvidia0"} 40000
# TYPE DCGM_FI_DEV_FB_RESERVED gauge
DCGM_FI_DEV_FB_RESERVED{gpu="0",UUID="GPU-aaaa",device="nvidia0"} 500
`
	snap, err := Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	d := snap.Devices[0]
	if d.MemoryTotal.OK || d.MemoryUsed != gpu.R(40000*mib) {
		t.Errorf("total %+v (want none), used %+v", d.MemoryTotal, d.MemoryUsed)
	}
}
