package slurm

import "testing"

// The resource names are the resource label of the poll metrics and appear
// in logs: changing one changes the output.
func TestResourceNames(t *testing.T) {
	want := map[Resource]string{
		ResourceInfo: "ping", ResourceJobs: "jobs", ResourceNodes: "nodes",
		ResourcePartitions: "partitions", ResourceDiag: "diag", ResourceShares: "shares",
	}
	if len(Resources) != len(want) {
		t.Fatalf("Resources has %d entries, want %d", len(Resources), len(want))
	}
	seen := map[Resource]bool{}
	for _, r := range Resources {
		if seen[r] {
			t.Errorf("resource %q listed twice", r)
		}
		seen[r] = true
		if string(r) != want[r] {
			t.Errorf("resource %q, want %q", r, want[r])
		}
	}
}
