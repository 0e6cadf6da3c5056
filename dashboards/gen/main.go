// Command gen writes jobscope's dashboards as JSON into dashboards/json/ and
// their panel tables into docs/dashboards.md. Run by `go generate
// ./dashboards` (make generate) from the dashboards directory.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"jobscope/dashboards"
)

func main() {
	if err := run(".."); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards/gen:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	files, err := dashboards.Render(root)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, dashboards.JSONDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Remove JSON no definition writes any more (a renamed dashboard).
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range old {
		rel, _ := filepath.Rel(root, f)
		if _, ok := files[rel]; !ok && strings.HasSuffix(f, ".json") {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for rel, b := range files {
		if err := os.WriteFile(filepath.Join(root, rel), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
