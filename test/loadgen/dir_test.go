package loadgen_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"jobscope/test/loadgen"
)

// WriteDir's files, served by Handler, are the bodies the writers give,
// plus the copied ones; other paths are not found.
func TestWriteDirHandler(t *testing.T) {
	cfg := loadgen.Config{Seed: 1, Nodes: 4, Jobs: 10}
	dir := t.TempDir()
	ping := filepath.Join(t.TempDir(), "ping.json")
	if err := os.WriteFile(ping, []byte(`{"pings":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loadgen.WriteDir(dir, cfg, map[string]string{"ping": ping}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(loadgen.Handler(dir))
	defer srv.Close()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	var want bytes.Buffer
	if err := loadgen.WriteNodes(&want, cfg); err != nil {
		t.Fatal(err)
	}
	if code, got := get("/slurm/v0.0.44/nodes"); code != http.StatusOK || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("nodes: %d, %d bytes, want %d", code, len(got), want.Len())
	}
	if code, got := get("/slurm/v0.0.44/ping"); code != http.StatusOK || string(got) != `{"pings":[]}` {
		t.Errorf("ping: %d %q", code, got)
	}
	for _, path := range []string{"/slurm/v0.0.43/nodes", "/slurm/v0.0.44/shares", "/slurm/v0.0.44/a/b"} {
		if code, _ := get(path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
	if err := loadgen.WriteDir(t.TempDir(), cfg, map[string]string{"shares": filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("WriteDir copied a file that does not exist")
	}
}
