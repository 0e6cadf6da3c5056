package rest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/config"

	"jobscope/slurm"
	"jobscope/test/loadgen"
	"jobscope/test/testkit"
)

// fakeRestd serves the recorded 22.05 responses. It is the test boundary:
// everything above it (transport, auth headers, negotiation, decoding) is
// the real code.
type fakeRestd struct {
	t  *testing.T
	mu sync.Mutex
	// versions served ("v0.0.38"); the spec lists exactly these.
	versions []string
	spec     bool // serve /openapi/v3
	// token required in X-SLURM-USER-TOKEN; "" accepts anything.
	token string
	// status overrides the answer for every data path when non-zero.
	status int
	body   string
	// notModifiedAfter answers 304 for update_time >= this Unix time.
	notModifiedAfter int64
	requests         []*http.Request
	handler          http.HandlerFunc // replaces everything when set
}

func (f *fakeRestd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	h, versions, spec, token, status, body, nm := f.handler, f.versions, f.spec, f.token, f.status, f.body, f.notModifiedAfter
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if token != "" && r.Header.Get("X-SLURM-USER-TOKEN") != token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("Authentication failure"))
		return
	}
	if r.URL.Path == "/openapi/v3" || r.URL.Path == "/openapi" {
		if !spec {
			http.Error(w, "Unable find requested URL. Please view /openapi/v3 for API reference.", http.StatusNotFound)
			return
		}
		if len(versions) == 1 && versions[0] == "v0.0.38" {
			http.ServeFile(w, r, "testdata/openapi_v3.json")
			return
		}
		// A small spec in the escaped style of 22.05 listing the versions.
		var b strings.Builder
		b.WriteString(`{"paths": {`)
		for i, v := range versions {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"\/slurm\/` + v + `\/ping": {}, "\/slurmdb\/v0.0.99\/jobs": {}`)
		}
		b.WriteString("}}")
		_, _ = w.Write([]byte(b.String()))
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // slurm, v0.0.38, jobs
	if len(parts) != 3 || parts[0] != "slurm" {
		http.Error(w, "Unable find requested URL.", http.StatusNotFound)
		return
	}
	served := false
	for _, v := range versions {
		served = served || v == parts[1]
	}
	if !served {
		http.Error(w, "Unable find requested URL.", http.StatusNotFound)
		return
	}
	if ut := r.URL.Query().Get("update_time"); ut != "" && nm != 0 {
		if n, err := strconv.ParseInt(ut, 10, 64); err == nil && n >= nm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	file := filepath.Join("testdata", parts[1]+"_"+parts[2]+".json")
	if _, err := os.Stat(file); err != nil {
		http.Error(w, "Unable find requested URL.", http.StatusNotFound)
		return
	}
	http.ServeFile(w, r, file)
}

func (f *fakeRestd) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.URL.RequestURI())
	}
	return out
}

func newFake(t *testing.T, versions ...string) (*fakeRestd, *httptest.Server) {
	f := &fakeRestd{t: t, versions: versions, spec: true}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNegotiateFromRealSpecAndDecode(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL})
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.APIVersion != "v0.0.38" || info.Release != "22.05.8" {
		t.Fatalf("info = %+v", info)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("jobs: %d, %v", len(jobs), err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 4 {
		t.Fatalf("nodes: %d, %v", len(nodes), err)
	}
	parts, err := c.Partitions(ctx)
	if err != nil || len(parts) != 2 {
		t.Fatalf("partitions: %d, %v", len(parts), err)
	}
	d, err := c.Diag(ctx)
	if err != nil || d == nil {
		t.Fatalf("diag: %v, %v", d, err)
	}
	if _, err := c.Shares(ctx); !errors.Is(err, slurm.ErrNotSupported) {
		t.Fatalf("shares on v0.0.38: %v, want ErrNotSupported", err)
	}
	// One negotiation, then one request per resource (shares needs none).
	p := f.paths()
	if p[0] != "/openapi/v3" || len(p) != 6 {
		t.Fatalf("requests: %v", p)
	}
}

func TestNegotiatePicksNewest(t *testing.T) {
	_, srv := newFake(t, "v0.0.36", "v0.0.37", "v0.0.42", "v0.0.44")
	c := newClient(t, Options{URL: srv.URL})
	v, err := c.version(context.Background())
	if err != nil || v.name != "v0.0.44" {
		t.Fatalf("version %v, %v", v, err)
	}
}

func TestScanSpecVersions(t *testing.T) {
	in := `{"paths":{"/slurm/v0.0.44/jobs/":{},"\/slurm\/v0.0.38\/ping":{}, "/slurmdb/v0.0.45/jobs/":{}, "/slurm/slurm/v0.0.41/diag/":{}, "/slurm/v0.0.4x/":{}}}`
	got, err := scanSpecVersions(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[44] || !got[38] || !got[41] {
		t.Fatalf("got %v", got)
	}
}

func TestNegotiateProbeFallback(t *testing.T) {
	f, srv := newFake(t, "v0.0.37")
	f.spec = false
	c := newClient(t, Options{URL: srv.URL})
	info, err := c.Info(context.Background())
	if err != nil || info.APIVersion != "v0.0.37" {
		t.Fatalf("info %+v, %v", info, err)
	}
	p := f.paths()
	if !strings.Contains(strings.Join(p, " "), "/slurm/v0.0.45/ping/") {
		t.Fatalf("did not probe newest first: %v", p)
	}
}

func TestForcedVersion(t *testing.T) {
	f, srv := newFake(t, "v0.0.37", "v0.0.38")
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.37"})
	info, err := c.Info(context.Background())
	if err != nil || info.APIVersion != "v0.0.37" {
		t.Fatalf("info %+v, %v", info, err)
	}
	if p := f.paths(); len(p) != 1 {
		t.Fatalf("forced version still negotiated: %v", p)
	}
	if _, err := New(Options{URL: srv.URL, Version: "v0.0.99"}); err == nil {
		t.Fatal("unsupported forced version accepted")
	}
}

func TestRenegotiateAfter404(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL})
	ctx := context.Background()
	if _, err := c.Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	// slurmrestd "upgraded" (here: swapped) to a server without v0.0.38.
	f.mu.Lock()
	f.versions = []string{"v0.0.37"}
	f.mu.Unlock()
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("after version change: %d jobs, %v", len(jobs), err)
	}
	if c.APIVersion() != "v0.0.37" {
		t.Fatalf("version %s", c.APIVersion())
	}
}

func TestUpdateTimeNotModified(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	f.notModifiedAfter = 1 // any update_time: "nothing changed"
	c := newClient(t, Options{URL: srv.URL})
	ctx := context.Background()
	first, err := c.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != len(first) || len(second) == 0 || &second[0] != &first[0] {
		t.Fatalf("304 did not return the cached jobs")
	}
	p := f.paths()
	last := p[len(p)-1]
	if !strings.Contains(last, "update_time=") {
		t.Fatalf("second request without update_time: %v", p)
	}
	if strings.Contains(p[1], "update_time") {
		t.Fatalf("first request had update_time: %v", p)
	}
	// Disabled: never sent.
	c2 := newClient(t, Options{URL: srv.URL, DisableUpdateTime: true})
	for range 2 {
		if _, err := c2.Jobs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p = f.paths()
	if strings.Contains(p[len(p)-1], "update_time") {
		t.Fatalf("update_time sent although disabled: %v", p)
	}
	// Nodes never get update_time on 22.05: its slurmrestd answers a
	// recent one with HTTP 500.
	for range 2 {
		if _, err := c.Nodes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p = f.paths()
	if strings.Contains(p[len(p)-1], "update_time") {
		t.Fatalf("update_time sent for nodes: %v", p)
	}
}

// TestServerErrorNamesTokenFile: slurmrestd 22.05 answers a bad token with
// a 500, so a 500 with a token configured points at the token file too.
func TestServerErrorNamesTokenFile(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("expired"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38", TokenFile: tokenFile})
	f.status, f.body = 500, `{"errors":[{"description":"slurmctld config is unable to load","error_number":-1,"error":"Unspecified error","source":"slurm_load_ctl_conf"}]}`
	_, err := c.Info(context.Background())
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "token rejected or expired") ||
		!strings.Contains(err.Error(), tokenFile) || strings.Contains(err.Error(), "expired\"") {
		t.Fatalf("err = %v", err)
	}
}

func TestTokenReloadAndUserHeader(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	dir := t.TempDir()
	tf := filepath.Join(dir, "token")
	if err := os.WriteFile(tf, []byte("SLURM_JWT=tok-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.token = "tok-one"
	c := newClient(t, Options{URL: srv.URL, TokenFile: tf, UserName: "root"})
	ctx := context.Background()
	if _, err := c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if u := f.requests[len(f.requests)-1].Header.Get("X-SLURM-USER-NAME"); u != "root" {
		t.Errorf("user header %q", u)
	}
	f.token = "tok-two-longer"
	f.mu.Unlock()
	// Old token now rejected; the message names the file, never the token.
	_, err := c.Info(ctx)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v, want ErrUnauthorized", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, tf) || strings.Contains(msg, "tok-one") || !strings.Contains(msg, "token rejected or expired") {
		t.Fatalf("bad auth error message: %s", msg)
	}
	if err := os.WriteFile(tf, []byte("tok-two-longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(ctx); err != nil {
		t.Fatalf("after rotating the token file: %v", err)
	}
	// Missing file: clear error naming the path.
	if err := os.Remove(tf); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(ctx); !errors.Is(err, ErrToken) || !strings.Contains(err.Error(), tf) {
		t.Fatalf("missing token file: %v", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	raw401, err := os.ReadFile("testdata/no_token_ping.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		status int
		body   string
		kind   error
		text   string
	}{
		{401, string(raw401), ErrUnauthorized, "Authentication failure"},
		{403, "", ErrUnauthorized, "token rejected or expired"},
		{500, `{"meta":{},"errors":[{"error":"Unable to query jobs","errno":1007}],"jobs":[]}`, ErrServer, "Unable to query jobs"},
		{502, "Bad Gateway", ErrServer, "Bad Gateway"},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			f, srv := newFake(t, "v0.0.38")
			c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
			f.status, f.body = tc.status, tc.body
			_, err := c.Jobs(context.Background())
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestErrorsArrayIn200(t *testing.T) {
	f, srv := newFake(t, "v0.0.38")
	f.status = 200
	f.body = `{"meta":{},"errors":[{"error":"slurm_load_jobs failed","errno":1}],"jobs":[]}`
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
	_, err := c.Jobs(context.Background())
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "slurm_load_jobs failed") {
		t.Fatalf("err %v", err)
	}
}

func TestHungServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f, srv := newFake(t, "v0.0.38")
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38", Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.Jobs(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestHungBodyTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f, srv := newFake(t, "v0.0.38")
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"meta":{},"jobs":[`))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38", Timeout: 300 * time.Millisecond})
	_, err := c.Jobs(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestTruncatedBody(t *testing.T) {
	full, err := os.ReadFile("testdata/v0.0.38_jobs.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"content-length", "chunked"} {
		t.Run(name, func(t *testing.T) {
			f, srv := newFake(t, "v0.0.38")
			f.handler = func(w http.ResponseWriter, r *http.Request) {
				if name == "content-length" {
					w.Header().Set("Content-Length", strconv.Itoa(len(full)))
				}
				_, _ = w.Write(full[:len(full)/2])
				if name == "content-length" {
					// Drop the connection mid-body.
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						_ = conn.Close()
					}
				}
			}
			c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
			_, err := c.Jobs(context.Background())
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	_, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38", MaxBodyBytes: 1000})
	_, err := c.Jobs(context.Background())
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err %v, want ErrBodyTooLarge", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	c := newClient(t, Options{URL: "http://" + testkit.FreeAddr(t)})
	_, err := c.Info(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "restd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRestd{t: t, versions: []string{"v0.0.38"}, spec: true}
	srv := httptest.NewUnstartedServer(f)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	c := newClient(t, Options{URL: "unix://" + sock})
	info, err := c.Info(context.Background())
	if err != nil || info.APIVersion != "v0.0.38" {
		t.Fatalf("info %+v, %v", info, err)
	}
	if h := f.requests[0].Header.Get("X-SLURM-USER-TOKEN"); h != "" {
		t.Fatalf("token header sent without a token file")
	}
}

func TestTLS(t *testing.T) {
	f := &fakeRestd{t: t, versions: []string{"v0.0.38"}, spec: true}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.38"})
	if _, err := c.Info(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("untrusted cert accepted: %v", err)
	}
	c = newClient(t, Options{URL: srv.URL, Version: "v0.0.38", TLS: config.TLSConfig{InsecureSkipVerify: true}})
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "unix://", "::"} {
		if _, err := New(Options{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}

// TestRealSlurmrestd talks to a real slurmrestd (e.g. the one
// shared/reference/slurm-local/setup.sh starts).
func TestRealSlurmrestd(t *testing.T) {
	u := os.Getenv("JOBSCOPE_SLURMRESTD_URL")
	if u == "" {
		t.Skip("set JOBSCOPE_SLURMRESTD_URL (and JOBSCOPE_SLURMRESTD_TOKEN_FILE, JOBSCOPE_SLURMRESTD_USER) to test against a real slurmrestd")
	}
	var logBuf testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, Options{URL: u, TokenFile: os.Getenv("JOBSCOPE_SLURMRESTD_TOKEN_FILE"), UserName: os.Getenv("JOBSCOPE_SLURMRESTD_USER"), Logger: logger})
	defer func() { t.Logf("client log:\n%s", logBuf.String()) }()
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("info: %+v", info)
	if info.APIVersion == "" || info.Release == "" {
		t.Fatalf("info %+v", info)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("nodes %d, %v", len(nodes), err)
	}
	// Twice: the second goes through update_time where supported.
	for i := range 2 {
		jobs, err := c.Jobs(ctx)
		if err != nil {
			t.Fatalf("jobs #%d: %v", i, err)
		}
		t.Logf("jobs #%d: %d", i, len(jobs))
		nodes2, err := c.Nodes(ctx)
		if err != nil || len(nodes2) != len(nodes) {
			t.Fatalf("nodes #%d: %d, %v", i, len(nodes2), err)
		}
	}
	if _, err := c.Partitions(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Diag(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Shares(ctx); err != nil && !errors.Is(err, slurm.ErrNotSupported) {
		t.Fatal(err)
	}
}

// TestClusterFromJobsMeta: v0.0.38's ping names no cluster; the name comes
// from the jobs answer and is given by the next Info.
func TestClusterFromJobsMeta(t *testing.T) {
	_, srv := newFake(t, "v0.0.38")
	c := newClient(t, Options{URL: srv.URL})
	ctx := context.Background()
	if info, err := c.Info(ctx); err != nil || info.Cluster != "" {
		t.Fatalf("before jobs: %+v, %v", info, err)
	}
	if _, err := c.Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Cluster != "feas" {
		t.Fatalf("after jobs: cluster %q, %v", info.Cluster, err)
	}
}

// TestJobsSizedByPreviousAnswer checks that the previous answer's job count
// sizes the next decode: the first answer is copied to its exact size, the
// second is the slice allocated up front from the count (a sixteenth
// spare), so 100k jobs are not gathered and copied on every poll.
func TestJobsSizedByPreviousAnswer(t *testing.T) {
	const n = 320
	var body bytes.Buffer
	if err := loadgen.WriteJobs(&body, loadgen.Config{Seed: 3, Jobs: n}); err != nil {
		t.Fatal(err)
	}
	f, srv := newFake(t, "v0.0.44")
	f.handler = func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body.Bytes()) }
	c := newClient(t, Options{URL: srv.URL, Version: "v0.0.44", DisableUpdateTime: true})
	for i, want := range []int{n, n + n/16} {
		jobs, err := c.Jobs(context.Background())
		if err != nil || len(jobs) != n {
			t.Fatalf("answer %d: %d jobs, %v", i+1, len(jobs), err)
		}
		if cap(jobs) != want {
			t.Errorf("answer %d: capacity %d, want %d", i+1, cap(jobs), want)
		}
	}
}
