package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jobscope/slurm"
	"jobscope/slurm/poller"
)

// countingRestd is a slurmrestd of data_parser v0.0.44 and/or v0.0.45 that
// counts the requests of each path. It serves the real OpenAPI documents'
// path lists (testdata/v0.0.4N_openapi_v3_paths.json) and the generated
// bodies of ../openapi/testdata, with meta's release rewritten to the
// server's own, so that tests can "upgrade" it between polls.
type countingRestd struct {
	t      *testing.T
	mu     sync.Mutex
	counts map[string]int
	// minors served; the document lists exactly these.
	minors []int
	// release reported in every body's meta.
	release string
	// unlisted is a resource left out of the document ("shares");
	// missing is one answered 404 (listed or not).
	unlisted, missing string
	// handler replaces the whole server when set (a server that is not
	// slurmrestd).
	handler http.HandlerFunc
}

var releaseRE = regexp.MustCompile(`"release": *"[^"]*"`)

func (f *countingRestd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.counts[r.URL.Path]++
	h, minors, release, unlisted, missing := f.handler, f.minors, f.release, f.unlisted, f.missing
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if r.URL.Path == "/openapi/v3" {
		// One document listing every served version's paths, as a
		// slurmrestd with several data_parser plugins loaded answers.
		var paths []string
		for _, m := range minors {
			b, err := os.ReadFile(fmt.Sprintf("testdata/v0.0.%d_openapi_v3_paths.json", m))
			if err != nil {
				f.t.Error(err)
				return
			}
			for _, p := range regexp.MustCompile(`"(/slurm[^"]*)"`).FindAllStringSubmatch(string(b), -1) {
				if unlisted == "" || !strings.HasSuffix(p[1], "/"+unlisted) {
					paths = append(paths, fmt.Sprintf("%q: {}", p[1]))
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"openapi": "3.0.3", "paths": {%s}}`, strings.Join(paths, ", "))
		return
	}
	var minor int
	var resource string
	if _, err := fmt.Sscanf(strings.TrimSuffix(r.URL.Path, "/"), "/slurm/v0.0.%d/%s", &minor, &resource); err != nil ||
		!slices.Contains(minors, minor) || resource == unlisted || resource == missing {
		http.Error(w, "Unable find requested URL. Please view /openapi/v3 for API reference.", http.StatusNotFound)
		return
	}
	body, err := os.ReadFile(fmt.Sprintf("../openapi/testdata/specgen-v0.0.%d_%s.json", minor, resource))
	if err != nil {
		http.Error(w, "Unable find requested URL. Please view /openapi/v3 for API reference.", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(releaseRE.ReplaceAll(body, []byte(`"release": "`+release+`"`)))
}

// take returns the counts since the last take and starts again.
func (f *countingRestd) take() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counts
	f.counts = map[string]int{}
	return c
}

func (f *countingRestd) set(fn func(*countingRestd)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

// pollRig is a poller on a client on a countingRestd; poll runs one poll
// with the client's clock moved on by a poll interval.
type pollRig struct {
	f   *countingRestd
	c   *Client
	p   *poller.Poller
	url string
	now time.Time
}

func newPollRig(t *testing.T, f *countingRestd) *pollRig {
	t.Helper()
	f.t, f.counts = t, map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := newClient(t, Options{URL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	rig := &pollRig{f: f, c: c, url: srv.URL, now: time.Unix(1_700_000_000, 0)}
	c.now = func() time.Time { return rig.now }
	rig.p = poller.New(c, 30*time.Second, nil, poller.Options{})
	return rig
}

func (r *pollRig) poll(t *testing.T) (*slurm.Snapshot, map[string]int) {
	t.Helper()
	r.now = r.now.Add(30 * time.Second)
	s := r.p.PollNow(context.Background())
	return s, r.f.take()
}

// wantCounts fails unless got has exactly the paths of want with their
// counts.
func wantCounts(t *testing.T, poll int, got, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("poll %d requests:\n got %v\nwant %v", poll, got, want)
	}
}

func v44Paths(extra map[string]int) map[string]int {
	m := map[string]int{}
	for _, r := range []string{"ping", "jobs", "nodes", "partitions", "diag"} {
		m["/slurm/v0.0.44/"+r+"/"] = 1
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// A v0.0.44 server whose document does not list shares (the scale test's
// fake; a slurmrestd built without the shares handler): shares is reported
// unsupported without a request, negotiation happens once, and every poll
// costs one request per resource.
func TestRequestsPerPollSharesNotListed(t *testing.T) {
	rig := newPollRig(t, &countingRestd{minors: []int{44}, release: "25.05.1", unlisted: "shares"})
	for i := 1; i <= 3; i++ {
		snap, got := rig.poll(t)
		want := v44Paths(nil)
		if i == 1 {
			want["/openapi/v3"] = 1
		}
		wantCounts(t, i, got, want)
		for _, r := range slurm.Resources {
			st := snap.Resources[r]
			switch {
			case r == slurm.ResourceShares && !errors.Is(st.Err, slurm.ErrNotSupported):
				t.Errorf("poll %d: shares: %v, want ErrNotSupported", i, st.Err)
			case r != slurm.ResourceShares && !st.OK:
				t.Errorf("poll %d: %s: %v", i, r, st.Err)
			}
		}
	}
	if len(rig.p.Snapshot().Jobs) == 0 {
		t.Error("no jobs decoded")
	}
}

// The same server with shares listed: it is asked for, once a poll.
func TestRequestsPerPollSharesListed(t *testing.T) {
	rig := newPollRig(t, &countingRestd{minors: []int{44}, release: "25.05.1"})
	for i := 1; i <= 2; i++ {
		snap, got := rig.poll(t)
		want := v44Paths(map[string]int{"/slurm/v0.0.44/shares": 1})
		if i == 1 {
			want["/openapi/v3"] = 1
		}
		wantCounts(t, i, got, want)
		if st := snap.Resources[slurm.ResourceShares]; !st.OK {
			t.Errorf("poll %d: shares: %v", i, st.Err)
		}
	}
}

// A listed optional path that answers 404 anyway: one negotiation to see
// whether the server changed, then one request a poll and an error (not
// "unsupported": the document says it exists).
func TestRequestsPerPollListedPathMissing(t *testing.T) {
	rig := newPollRig(t, &countingRestd{minors: []int{44}, release: "25.05.1", missing: "shares"})
	for i := 1; i <= 3; i++ {
		snap, got := rig.poll(t)
		want := v44Paths(map[string]int{"/slurm/v0.0.44/shares": 1})
		switch i {
		case 1:
			// Start, and the 404's check that the server did not change.
			want["/openapi/v3"] = 2
			want["/slurm/v0.0.44/shares"] = 2
		}
		wantCounts(t, i, got, want)
		st := snap.Resources[slurm.ResourceShares]
		if st.OK || errors.Is(st.Err, slurm.ErrNotSupported) || !errors.Is(st.Err, ErrNotFound) {
			t.Errorf("poll %d: shares: %v, want a 404 error", i, st.Err)
		}
	}
}

// A server upgraded between polls so that the old version is gone: the
// 404s of listed paths send the client back to the document once, and from
// the next poll on it asks the new version only.
func TestRequestsPerPollUpgradeDropsVersion(t *testing.T) {
	f := &countingRestd{minors: []int{44}, release: "25.05.1"}
	rig := newPollRig(t, f)
	rig.poll(t)
	f.set(func(f *countingRestd) { f.minors, f.release = []int{45}, "25.11.0" })
	snap, got := rig.poll(t)
	if got["/openapi/v3"] != 1 {
		t.Errorf("poll 2: %d negotiations, want 1: %v", got["/openapi/v3"], got)
	}
	for p, n := range got {
		if n != 1 {
			t.Errorf("poll 2: %d requests for %s, want at most 1: %v", n, p, got)
		}
	}
	for _, r := range slurm.Resources {
		if !snap.Resources[r].OK {
			t.Errorf("poll 2: %s: %v", r, snap.Resources[r].Err)
		}
	}
	if rig.c.APIVersion() != "v0.0.45" || snap.Info.APIVersion != "v0.0.45" {
		t.Errorf("version %s, info %s; want v0.0.45", rig.c.APIVersion(), snap.Info.APIVersion)
	}
	_, got = rig.poll(t)
	want := map[string]int{}
	for _, r := range []string{"ping", "jobs", "nodes", "partitions", "diag"} {
		want["/slurm/v0.0.45/"+r+"/"] = 1
	}
	want["/slurm/v0.0.45/shares"] = 1
	wantCounts(t, 3, got, want)
}

// A server upgraded between polls that still serves the old version beside
// a newer one: nothing answers 404, but the release its answers report
// changes, and the client negotiates again (once) and moves to the newer.
func TestRequestsPerPollUpgradeKeepsVersion(t *testing.T) {
	f := &countingRestd{minors: []int{44}, release: "25.05.1"}
	rig := newPollRig(t, f)
	rig.poll(t)
	f.set(func(f *countingRestd) { f.minors, f.release = []int{44, 45}, "25.11.0" })
	negotiations := 0
	for i := 2; i <= 4; i++ {
		snap, got := rig.poll(t)
		negotiations += got["/openapi/v3"]
		for p, n := range got {
			if n != 1 {
				t.Errorf("poll %d: %d requests for %s, want at most 1: %v", i, n, p, got)
			}
		}
		for _, r := range slurm.Resources {
			if !snap.Resources[r].OK {
				t.Errorf("poll %d: %s: %v", i, r, snap.Resources[r].Err)
			}
		}
		if i == 4 && (len(got) != 6 || got["/slurm/v0.0.45/jobs/"] != 1) {
			t.Errorf("poll %d: %v, want the six v0.0.45 resources", i, got)
		}
	}
	if negotiations != 1 {
		t.Errorf("%d negotiations after the upgrade, want 1", negotiations)
	}
}

// Servers that are not slurmrestd (a web server's HTML page, a JSON
// service) cost one request a poll, and the error says so in words.
func TestRequestsPerPollNotSlurmrestd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"html 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<!DOCTYPE HTML>\n<html><body>It works!</body></html>"))
		}, " is not slurmrestd: GET /openapi/v3 answered 200 text/html"},
		{"html 404", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<!DOCTYPE HTML PUBLIC>\n<title>404 Not Found</title>"))
		}, " is not slurmrestd: GET /openapi/v3 answered 404 text/html"},
		{"json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok","version":"1.2.3"}`))
		}, " is not slurmrestd: GET /openapi/v3 answered 200 application/json without any /slurm/ path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newPollRig(t, &countingRestd{handler: tc.handler})
			for i := 1; i <= 3; i++ {
				snap, got := rig.poll(t)
				wantCounts(t, i, got, map[string]int{"/openapi/v3": 1})
				for _, r := range slurm.Resources {
					err := snap.Resources[r].Err
					if !errors.Is(err, ErrNotSlurmrestd) || err.Error() != rig.url+tc.want {
						t.Errorf("poll %d: %s: %v\nwant %s%s", i, r, err, rig.url, tc.want)
					}
				}
			}
		})
	}
}

// A JSON service that has a ping path: the answer has no Slurm meta.
func TestPingWithoutMetaIsNotSlurmrestd(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"pings":[]}`))
	}
	_, err := c.Info(context.Background())
	want := srv.URL + " is not slurmrestd: GET /slurm/v0.0.38/ping answered 200 application/json without Slurm's meta"
	if !errors.Is(err, ErrNotSlurmrestd) || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

// A proxy's HTML error page is not quoted as if Slurm said it.
func TestHTMLErrorPageNotQuoted(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<!DOCTYPE HTML><title>502 Bad Gateway</title>"))
	}
	_, err := c.Jobs(context.Background())
	if !errors.Is(err, ErrServer) || strings.Contains(err.Error(), "DOCTYPE") || strings.Contains(err.Error(), "slurm says") {
		t.Fatalf("err %v", err)
	}
}
