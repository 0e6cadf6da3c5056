package infiniband

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// writeRecordedTree builds the benchmarks' recorded 8-HCA node from the
// recorded trees only: gcm_good's eight mlx5 devices with their PCI
// placement, class and bus links and port attributes (a real 8-HCA node),
// every port given gpud_cx7's real ConnectX-7 counters/ dump (the 21 files
// of the extended table, values as recorded) and procfs's mlx5 hw_counters/
// (25 files). It is what an H100 node's HCAs serve, made only of recorded
// files; node_exporter reads all of it.
func writeRecordedTree(tb testing.TB, root string) string {
	tb.Helper()
	copyTree(tb, filepath.Join(treesDir, "gcm_good"), root)
	counters := filepath.Join(treesDir, "gpud_cx7", "class", "infiniband", "mlx5_1", "ports", "1", "counters")
	hw := filepath.Join(treesDir, "procfs", "class", "infiniband", "mlx5_0", "ports", "1", "hw_counters")
	ports, err := filepath.Glob(filepath.Join(root, "class", "infiniband", "*", "ports", "*"))
	if err != nil || len(ports) != 8 {
		tb.Fatalf("gcm_good: %d ports, %v", len(ports), err)
	}
	for _, p := range ports {
		copyTree(tb, counters, filepath.Join(p, "counters"))
		copyTree(tb, hw, filepath.Join(p, "hw_counters"))
	}
	return root
}

// copyTree copies src to dst, symlinks as symlinks.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}
