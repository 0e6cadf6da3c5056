package loadgen

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// WriteDir writes the cluster's jobs, nodes, partitions and diag bodies
// into dir as NAME.json, and copies the bodies loadgen does not generate
// (ping, shares) from the files copies names by resource. Large clusters'
// bodies go to files, not memory, so a benchmark's heap stays the client's.
func WriteDir(dir string, cfg Config, copies map[string]string) error {
	for name, write := range map[string]func(io.Writer, Config) error{
		"jobs": WriteJobs, "nodes": WriteNodes, "partitions": WritePartitions, "diag": WriteDiag,
	} {
		if err := writeFile(filepath.Join(dir, name+".json"), func(f io.Writer) error { return write(f, cfg) }); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for name, src := range copies {
		body, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and lets write fill it; the writers buffer their
// own output.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Handler answers slurmrestd v0.0.44 requests /slurm/v0.0.44/NAME with
// dir/NAME.json as WriteDir left it (streamed from the file), and 404 for
// any other path.
func Handler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := strings.CutPrefix(strings.Trim(r.URL.Path, "/"), "slurm/v0.0.44/")
		if !ok || strings.Contains(res, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		http.ServeFile(w, r, filepath.Join(dir, res+".json"))
	})
}
