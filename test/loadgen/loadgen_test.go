package loadgen_test

import (
	"bytes"
	"testing"

	"jobscope/slurm/openapi"
	"jobscope/test/loadgen"
)

func TestPayloadsDecode(t *testing.T) {
	cfg := loadgen.Config{Seed: 1, Nodes: 50, Jobs: 200}
	var a, b bytes.Buffer
	if err := loadgen.WriteJobs(&a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := loadgen.WriteJobs(&b, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("WriteJobs is not deterministic")
	}
	jobs, meta, err := openapi.DecodeJobs(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 200 || openapi.DetectVersion(meta.Plugin) != "v0.0.44" {
		t.Fatalf("%d jobs, meta %+v", len(jobs), meta)
	}
	running, arrays := 0, 0
	for _, j := range jobs {
		switch j.State {
		case "RUNNING":
			running++
			if len(j.Alloc) == 0 || j.GPUs == 0 || j.Alloc[0].GRES == nil || j.MemoryBytes == 0 {
				t.Fatalf("running job without allocation: %+v", j)
			}
		case "PENDING":
			if j.Alloc != nil || j.GPUs == 0 {
				t.Fatalf("pending job: %+v", j)
			}
		default:
			t.Fatalf("unexpected state %q", j.State)
		}
		if j.ArrayTaskID >= 0 {
			arrays++
		}
	}
	if running == 0 || arrays == 0 || running == len(jobs) {
		t.Fatalf("running %d arrays %d of %d", running, arrays, len(jobs))
	}
	// A running v0.0.44 job with per-core job_resources is 8-32 KB.
	if per := a.Len() / running; per < 6<<10 || per > 32<<10 {
		t.Errorf("%d bytes per running job, want roughly 8-32 KB", per)
	}

	var nb bytes.Buffer
	if err := loadgen.WriteNodes(&nb, cfg); err != nil {
		t.Fatal(err)
	}
	nodes, _, err := openapi.DecodeNodes(&nb)
	if err != nil || len(nodes) != 50 {
		t.Fatalf("nodes: %v, %d", err, len(nodes))
	}
	if n := nodes[0]; n.Name != "gpu-00001" || len(n.GRES) != 1 || n.GRES[0].Count != 8 || n.CPUs != 64 {
		t.Errorf("node 0: %+v", n)
	}

	var pb bytes.Buffer
	if err := loadgen.WritePartitions(&pb, cfg); err != nil {
		t.Fatal(err)
	}
	parts, _, err := openapi.DecodePartitions(&pb)
	if err != nil || len(parts) != 3 || parts[0].TotalNodes != 50 || parts[0].NodeList != "gpu-[00001-00050]" {
		t.Fatalf("partitions: %v %+v", err, parts)
	}

	var db bytes.Buffer
	if err := loadgen.WriteDiag(&db, cfg); err != nil {
		t.Fatal(err)
	}
	d, _, err := openapi.DecodeDiag(&db)
	if err != nil || d.JobsSubmitted != 400 || len(d.RPCsByType) == 0 || len(d.RPCsByUser) == 0 {
		t.Fatalf("diag: %v %+v", err, d)
	}
}
