package openapi

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"jobscope/slurm"
)

// TestJobAllocCPUsV38 checks that the per-node CPUs of v0.0.37/38 jobs are the
// allocated cores, not cpus_used (CPUs in use by steps, 0 for an idle job).
// The expected counts are the CPU_IDs of `scontrol show job -d` taken on the
// same cluster at the same time (shared/fixtures/slurm/debian-22.05-local/
// dbd/cli/scontrol_show_job_d.txt): job 4 CPU_IDs=1-2, 5 =3, 6 =0 on each of
// node[1-2], 8 =0-1, 9 =2, 13 =3.
func TestJobAllocCPUsV38(t *testing.T) {
	want := map[uint32][]uint32{4: {2}, 5: {1}, 6: {1, 1}, 8: {2}, 9: {1}, 13: {1}, 17: {1}}
	for _, file := range []string{"debian-dbd-rest-v0.0.38_jobs.json", "debian-dbd-cli-v0.0.38_squeue.json", "debian-dbd-rest-v0.0.37_jobs.json"} {
		jobs, _, err := DecodeJobs(open(t, file))
		if err != nil {
			t.Fatal(file, err)
		}
		for id, cpus := range want {
			j := findJob(t, jobs, id)
			var got []uint32
			for _, a := range j.Alloc {
				got = append(got, a.CPUs)
			}
			if !reflect.DeepEqual(got, cpus) {
				t.Errorf("%s: job %d: per-node CPUs %v, want %v", file, id, got, cpus)
			}
		}
	}
}

func TestJobAllocCPUsThreadsAndUsed(t *testing.T) {
	body := `{"jobs":[
	 {"job_id":1,"nodes":"n1","job_resources":{"nodes":"n1","allocated_nodes":[{"nodename":"n1","cpus_used":0,
	   "sockets":{"0":{"cores":{"0":"allocated","1":"allocated"}},"1":{"cores":{"0":"allocated"}}}}],"threads_per_core":2}},
	 {"job_id":2,"nodes":"n1","job_resources":{"nodes":"n1","allocated_nodes":[{"nodename":"n1","cpus_used":4,
	   "sockets":{"0":{"cores":{"0":"allocated_and_in_use"}}}}]}},
	 {"job_id":3,"nodes":"n1","job_resources":{"nodes":"n1","allocated_nodes":[{"nodename":"n1","cpus_used":3}]}}]}`
	jobs, _, err := DecodeJobs(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint32{6, 4, 3} {
		if got := jobs[i].Alloc[0].CPUs; got != want {
			t.Errorf("job %d: CPUs %d, want %d", i+1, got, want)
		}
	}
}

// TestLenient checks that a string from an unknown Slurm that cannot be
// parsed blanks only its field, with a bounded warning.
func TestLenient(t *testing.T) {
	body := `{"jobs":[
	 {"job_id":1,"job_state":"RUNNING","nodes":"n[1-2]","gres_detail":["gpu:x:y","gpu:h100:1(IDX:0)"],"tres_alloc_str":"cpu=2,mem=1G,node=2"},
	 {"job_id":2,"job_state":"RUNNING","nodes":"n[1-","gres_detail":["gpu:1"],"tres_alloc_str":"cpu=1,mem=??"},
	 {"job_id":3,"job_state":"PENDING","tres_per_node":"gres:gpu:((2"}],
	 "meta":{"plugin":{"type":"openapi/v0.0.38"}},"warnings":[{"description":"d","source":"s"}]}`
	jobs, meta, err := DecodeJobs(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("%d jobs", len(jobs))
	}
	j1 := jobs[0]
	if len(j1.Alloc) != 2 || j1.Alloc[0].GRES != nil || j1.Alloc[1].Node != "n2" || j1.Alloc[1].GRES[0].Count != 1 || j1.MemoryBytes != 1<<30 {
		t.Errorf("job 1: %+v", j1)
	}
	if j2 := jobs[1]; j2.State != "RUNNING" || j2.NodeList != "n[1-" || j2.MemoryBytes != 0 {
		t.Errorf("job 2: %+v", j2)
	}
	if j3 := jobs[2]; j3.State != "PENDING" || j3.GPUs != 0 {
		t.Errorf("job 3: %+v", j3)
	}
	if len(meta.Warnings) != 5 || meta.Warnings[0] != "s: d" ||
		!strings.Contains(meta.Warnings[1], "job 1: gres_detail") || !strings.Contains(meta.Warnings[4], "job 3: tres_per_node") {
		t.Errorf("warnings: %q", meta.Warnings)
	}

	// Bounded: 10 messages, then a count.
	var b strings.Builder
	b.WriteString(`{"nodes":[`)
	for i := range 25 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"n%d","gres":"gpu:1(IDX:5-1)","gres_used":"gpu:0"}`, i)
	}
	b.WriteString(`]}`)
	nodes, meta, err := DecodeNodes(strings.NewReader(b.String()))
	if err != nil || len(nodes) != 25 || nodes[3].GRES != nil || nodes[3].GRESUsed == nil {
		t.Fatalf("nodes: %v %d %+v", err, len(nodes), nodes)
	}
	if len(meta.Warnings) != 11 || meta.Warnings[10] != "jobscope: 15 more unparseable values left empty" {
		t.Errorf("warnings: %q", meta.Warnings)
	}

	// sinfo: an entry whose hostlist cannot be expanded is dropped alone.
	sinfo := `{"sinfo":[{"nodes":{"nodes":["a[1-"]}},{"nodes":{"nodes":["b1"]},"gres":{"total":"gpu:1"}}]}`
	nodes, meta, err = DecodeNodes(strings.NewReader(sinfo))
	if err != nil || len(nodes) != 1 || nodes[0].Name != "b1" || len(meta.Warnings) != 1 {
		t.Errorf("sinfo: %v %+v %q", err, nodes, meta.Warnings)
	}
}

func TestJobsCluster(t *testing.T) {
	// v0.0.37/38 meta has no cluster: it comes from the jobs.
	for _, f := range []string{"debian-dbd-rest-v0.0.38_jobs.json", "debian-dbd-rest-v0.0.37_jobs.json", "debian-dbd-cli-v0.0.38_squeue.json"} {
		_, meta, err := DecodeJobs(open(t, f))
		if err != nil || meta.Cluster != "feas" {
			t.Errorf("%s: %v cluster %q", f, err, meta.Cluster)
		}
	}
	_, meta, _ := DecodeJobs(strings.NewReader(`{"meta":{"slurm":{"cluster":"m"}},"jobs":[{"cluster":"j"}]}`))
	if meta.Cluster != "m" {
		t.Errorf("meta cluster must win: %q", meta.Cluster)
	}
}

func TestPartitionDefaultFlag(t *testing.T) {
	body := `{"partitions":[
	 {"name":"a","partition":{"state":["UP"]},"flags":["DEFAULT","LLN"]},
	 {"name":"b","partition":{"state":["DEFAULT","UP"]}},
	 {"name":"c","partition":{"state":["DRAIN"]},"flags":["HIDDEN"]}]}`
	parts, _, err := DecodePartitions(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []slurm.Partition{{Name: "a", State: "UP", Default: true}, {Name: "b", State: "UP", Default: true}, {Name: "c", State: "DRAIN"}}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("got %+v", parts)
	}
}

// TestDiagUnreported: statistics a data_parser version does not print are
// marked as unreported, not read as 0. v0.0.37/38 (Slurm 22.05, recorded)
// have no bf_last_depth and bf_last_depth_try; v0.0.39 (Slurm 23.02,
// recorded sdiag --json) has no bf_cycle_max; v0.0.41 and the v0.0.42+
// specs have all three.
func TestDiagUnreported(t *testing.T) {
	for _, c := range []struct {
		file string
		want slurm.DiagStat
	}{
		{"debian-dbd-rest-v0.0.37_diag.json", slurm.DiagBackfillLastDepth | slurm.DiagBackfillLastDepthTry},
		{"debian-dbd-rest-v0.0.38_diag.json", slurm.DiagBackfillLastDepth | slurm.DiagBackfillLastDepthTry},
		{"rivosinc-v0.0.39_sdiag.json", slurm.DiagBackfillCycleMax},
		{"rivosinc-v0.0.41_sdiag.json", 0},
		{"specgen-v0.0.42_diag.json", 0},
		{"specgen-v0.0.45_diag.json", 0},
	} {
		d, _, err := DecodeDiag(open(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if d.Unreported != c.want {
			t.Errorf("%s: Unreported = %b, want %b", c.file, d.Unreported, c.want)
		}
	}
}

// TestJobAllocCPUsV37 checks that v0.0.37's per-node "cpus" (slurmrestd
// prints job_resources->cpus[node], the CPUs allocated there) is taken as
// is. Its "cores" map is keyed by the core's index within its socket
// (openapi/v0.0.37 jobs.c: data_key_set_int(cores, i % cores_per_socket)),
// so cores of different sockets collide and threads are not counted: core
// 0 of both sockets of a ThreadsPerCore=2 node is one "cores" member for 4
// CPUs. The shape is the recorded job 4 of debian-dbd-rest-v0.0.37_jobs.json
// on such a node.
func TestJobAllocCPUsV37(t *testing.T) {
	body := `{"jobs":[{"job_id":4,"job_state":"RUNNING","nodes":"node2","tres_alloc_str":"cpu=4,mem=4G,node=1,billing=4",
	 "job_resources":{"nodes":"node2","allocated_cpus":4,"allocated_hosts":1,"allocated_nodes":{"0":{
	   "sockets":{"0":"assigned","1":"assigned"},"cores":{"0":"assigned"},"memory":4096,"cpus":4}}}}]}`
	jobs, _, err := DecodeJobs(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []slurm.NodeAlloc{{Node: "node2", CPUs: 4, MemoryBytes: 4096 << 20}}
	if !reflect.DeepEqual(jobs[0].Alloc, want) {
		t.Errorf("alloc %+v, want %+v", jobs[0].Alloc, want)
	}
}

// TestJobGPUsWithoutGPUTRES: where AccountingStorageTRES does not track
// gres/gpu (Slurm's default; the recorded nodbd cluster), the TRES strings
// name no GPUs at all. A running job's GPUs must then come from what it
// holds per node (gres_detail), a pending job's from its request. Expected
// counts: `scontrol show job -d` of the same cluster (JOB_GRES / GRES=).
func TestJobGPUsWithoutGPUTRES(t *testing.T) {
	jobs, _, err := DecodeJobs(open(t, "debian-nodbd-rest-v0.0.38_jobs.json"))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[uint32]uint64{4: 2, 5: 1, 6: 2, 7: 4, 8: 0, 1: 0} {
		if got := findJob(t, jobs, id).GPUs; got != want {
			t.Errorf("job %d: GPUs %d, want %d", id, got, want)
		}
	}
}

// TestServerWarningsAndErrorsBounded: a server repeating a warning or an
// error per job must not make Meta.Warnings or the error text unbounded.
func TestServerWarningsAndErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"warnings":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"description":"w%d","source":"s"}`, i)
	}
	b.WriteString(`],"jobs":[]}`)
	_, meta, err := DecodeJobs(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Warnings) != maxWarnings+1 || meta.Warnings[maxWarnings] != "490 more warnings from slurm" {
		t.Fatalf("%d warnings, last %q", len(meta.Warnings), meta.Warnings[len(meta.Warnings)-1])
	}

	b.Reset()
	b.WriteString(`{"errors":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"error":"e%d"}`, i)
	}
	b.WriteString(`],"jobs":[]}`)
	_, _, err = DecodeJobs(strings.NewReader(b.String()))
	var ae *APIError
	if !errors.As(err, &ae) || len(ae.Errors) != maxWarnings || ae.Omitted != 490 || !strings.HasSuffix(err.Error(), "; and 490 more") {
		t.Fatalf("err = %v", err)
	}
}
