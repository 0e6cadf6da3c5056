package dcgm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"jobscope/gpu"
)

// The A100 of testdata/dcgm-exporter-A100-MIG-derived.prom and its
// instances' UUIDs (the same as gputest.A100MIG's; gpu/dcgm's tests do not
// import the NVML mocks).
const a100 = "GPU-513536b6-7d19-9063-b049-1e69664bb298"

var a100MIG = map[gpu.MIGKey][]string{
	{Parent: a100, GPUInstanceID: 3}: {"MIG-3c9a5d1e-8f2b-5a47-9d1c-6e0f2b7a4c13"},
	{Parent: a100, GPUInstanceID: 4}: {"MIG-7e1d4b92-0c3a-5f68-b2e4-91d7c5a08f26"},
	{Parent: a100, GPUInstanceID: 5}: {"MIG-a5f03c77-4d19-5b2e-8c6a-2f94e1b3d750"},
	{Parent: a100, GPUInstanceID: 6}: {"MIG-d28b6e04-7a5c-5e91-a3f7-0b6c49d2e18f"},
}

// fakeLister answers what the node's NVML would, counting the questions.
type fakeLister struct {
	uuids map[gpu.MIGKey][]string
	err   error
	calls int
}

func (f *fakeLister) MIGUUIDs(context.Context) (map[gpu.MIGKey][]string, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := make(map[gpu.MIGKey][]string, len(f.uuids))
	for k, v := range f.uuids {
		out[k] = v
	}
	return out, nil
}

// migRig serves page through a real HTTP server to a dcgm backend with
// lister l, on a clock the test moves, logging into log.
type migRig struct {
	b    *Backend
	page string
	t    time.Time
	log  bytes.Buffer
}

func newMIGRig(t *testing.T, l gpu.MIGLister) *migRig {
	t.Helper()
	page, err := os.ReadFile("testdata/dcgm-exporter-A100-MIG-derived.prom")
	if err != nil {
		t.Fatal(err)
	}
	r := &migRig{page: string(page), t: time.Unix(1_764_400_000, 0)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(r.page))
	}))
	t.Cleanup(srv.Close)
	r.b = New(srv.URL, nil, WithMIGLister(l, slog.New(slog.NewTextHandler(&r.log, nil))))
	r.b.now = func() time.Time { return r.t }
	return r
}

func (r *migRig) uuids(t *testing.T) []string {
	t.Helper()
	snap, err := r.b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range snap.Devices {
		out = append(out, d.UUID)
	}
	return out
}

func TestMIGUUIDsFromLister(t *testing.T) {
	l := &fakeLister{uuids: a100MIG}
	r := newMIGRig(t, l)
	snap, err := r.b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Devices) != 4 {
		t.Fatalf("got %d devices, want the A100's 4 GPU instances (no parent series under --devices f)", len(snap.Devices))
	}
	for _, d := range snap.Devices {
		want := a100MIG[gpu.MIGKey{Parent: a100, GPUInstanceID: d.GPUInstanceID}][0]
		if d.UUID != want || d.Parent != a100 || d.MIGProfile != "1g.20gb" || d.Index != 0 {
			t.Errorf("GI %d: %+v, want uuid %s", d.GPUInstanceID, d, want)
		}
		// Parsed under the page's key, then renamed: the memory parts still add up.
		if d.MemoryTotal != gpu.R((19955+12)*mib) || d.MemoryUsed != gpu.R(12*mib) {
			t.Errorf("GI %d memory: total %+v used %+v", d.GPUInstanceID, d.MemoryTotal, d.MemoryUsed)
		}
	}
	// Known instances: NVML is not asked again, however many scrapes.
	r.t = r.t.Add(time.Hour)
	r.uuids(t)
	if l.calls != 1 {
		t.Errorf("lister asked %d times for known instances, want 1", l.calls)
	}
	if r.log.Len() != 0 {
		t.Errorf("logged with a working lister: %s", r.log.String())
	}
}

// MIG reconfigured: an instance the cache lacks makes the backend ask
// again, at most once a minute; until then it keeps <parent>/<GI>.
func TestMIGRefreshOnUnknownInstance(t *testing.T) {
	l := &fakeLister{uuids: map[gpu.MIGKey][]string{}}
	for k, v := range a100MIG {
		if k.GPUInstanceID != 6 {
			l.uuids[k] = v
		}
	}
	r := newMIGRig(t, l)
	got := r.uuids(t)
	if got[3] != a100+"/6" || l.calls != 1 {
		t.Fatalf("GI 6 unknown to NVML: %v (lister asked %d times), want %s/6", got, l.calls, a100)
	}
	// Still unknown 30 s later: not asked again (rate limit).
	r.t = r.t.Add(30 * time.Second)
	l.uuids = a100MIG
	if got := r.uuids(t); got[3] != a100+"/6" || l.calls != 1 {
		t.Errorf("within a minute: %v, lister asked %d times, want 1", got, l.calls)
	}
	// A minute after the last question: asked, renamed.
	r.t = r.t.Add(30 * time.Second)
	if got := r.uuids(t); got[3] != a100MIG[gpu.MIGKey{Parent: a100, GPUInstanceID: 6}][0] || l.calls != 2 {
		t.Errorf("after a minute: %v, lister asked %d times, want 2", got, l.calls)
	}
	// A new GPU instance 7 appears on the page (reconfigured): asked once
	// for the whole page, at once since the last question is a minute old.
	r.t = r.t.Add(time.Minute)
	r.page += gi7Line(t, r.page) + "\n"
	l.uuids = map[gpu.MIGKey][]string{{Parent: a100, GPUInstanceID: 7}: {"MIG-00000007-0000-5000-8000-000000000007"}}
	got = r.uuids(t)
	if l.calls != 3 || got[4] != "MIG-00000007-0000-5000-8000-000000000007" {
		t.Errorf("new GI 7: %v, lister asked %d times, want 3", got, l.calls)
	}
	// The new reading replaced the old: GI 3 to 6 are gone from NVML's
	// answer, so they fall back (and do not ask again within the minute).
	if got[0] != a100+"/3" {
		t.Errorf("GI 3 after NVML stopped listing it: %v", got)
	}
}

// No driver: <parent>/<GI>, one warning saying the tenants cannot be
// joined, NVML asked again at most once a minute.
func TestMIGNoDriver(t *testing.T) {
	l := &fakeLister{err: gpu.Unavailable(gpu.ReasonLibraryNotFound, fmt.Errorf("nvml init: ERROR_LIBRARY_NOT_FOUND"))}
	r := newMIGRig(t, l)
	for i := range 5 {
		got := r.uuids(t)
		if got[0] != a100+"/3" || got[3] != a100+"/6" {
			t.Fatalf("scrape %d: %v, want <parent>/<GI>", i, got)
		}
		r.t = r.t.Add(20 * time.Second)
	}
	if l.calls != 2 {
		t.Errorf("lister asked %d times in 100 s, want 2", l.calls)
	}
	logs := r.log.String()
	if n := strings.Count(logs, "level=WARN"); n != 1 || !strings.Contains(logs, "MIG tenants") ||
		!strings.Contains(logs, "cannot be joined") || !strings.Contains(logs, "ERROR_LIBRARY_NOT_FOUND") {
		t.Errorf("want one warning naming the join and the cause, got %d:\n%s", n, logs)
	}
	// The driver arrives: the next due question renames.
	l.err = nil
	l.uuids = a100MIG
	r.t = r.t.Add(time.Minute)
	if got := r.uuids(t); got[0] != a100MIG[gpu.MIGKey{Parent: a100, GPUInstanceID: 3}][0] {
		t.Errorf("after the driver loaded: %v", got)
	}
}

// A GPU instance with two compute instances has two MIG UUIDs: the page
// cannot say which a series is, so it stays <parent>/<GI>, logged once.
func TestMIGSplitGPUInstance(t *testing.T) {
	l := &fakeLister{uuids: map[gpu.MIGKey][]string{
		{Parent: a100, GPUInstanceID: 3}: {"MIG-aaaaaaaa-0000-5000-8000-000000000001", "MIG-aaaaaaaa-0000-5000-8000-000000000002"},
	}}
	r := newMIGRig(t, l)
	r.uuids(t)
	got := r.uuids(t)
	if got[0] != a100+"/3" {
		t.Errorf("split GI 3: %v", got)
	}
	if n := strings.Count(r.log.String(), "several compute instances"); n != 1 {
		t.Errorf("logged %d times, want 1:\n%s", n, r.log.String())
	}
}

// Without a lister (--dcgm.mig-uuids=none) the page's names stay.
func TestMIGNoLister(t *testing.T) {
	r := newMIGRig(t, nil)
	if got := r.uuids(t); got[0] != a100+"/3" {
		t.Errorf("no lister: %v", got)
	}
}

// A page without MIG never asks NVML: nodes without MIG need no driver
// access from the agent.
func TestMIGNotAskedWithoutMIG(t *testing.T) {
	l := &fakeLister{uuids: a100MIG}
	r := newMIGRig(t, l)
	l4, err := os.ReadFile("testdata/dcgm-exporter-L4-kops.prom")
	if err != nil {
		t.Fatal(err)
	}
	r.page = string(l4)
	r.uuids(t)
	if l.calls != 0 {
		t.Errorf("lister asked %d times on a node without MIG", l.calls)
	}
}

// gi7Line is the page's first GPU instance 3 sample as GPU instance 7's.
func gi7Line(t *testing.T, page string) string {
	t.Helper()
	for _, l := range strings.Split(page, "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, `GPU_I_ID="3"`) {
			return strings.ReplaceAll(l, `GPU_I_ID="3"`, `GPU_I_ID="7"`)
		}
	}
	t.Fatal("no GPU instance 3 sample on the page")
	return ""
}
