package e2e

import (
	"reflect"
	"testing"
	"time"
)

// The text parsers of this package, on lines recorded from the test cluster (Slurm 22.05.8).

func TestParseJobLine(t *testing.T) {
	line := `JobId=7 JobName=mn-root UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=10770 Nice=0 Account=root QOS=normal JobState=RUNNING Reason=None Dependency=(null) NodeList=node[1-2] BatchHost=node1 NumNodes=2 NumCPUs=2 TRES=cpu=2,mem=2000M,node=2,billing=2,gres/gpu=2 JOB_GRES=gpu:h100:2   Nodes=node[1-2] CPU_IDs=0 Mem=1000 GRES=gpu:h100:1(IDX:3) MinCPUsNode=1 Features=(null) Command=(null) WorkDir=/srv/jobscope-slurm/jobs Power= TresPerNode=gres:gpu:1`
	j, err := parseJobLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want := &jobTruth{ID: "7", Name: "mn-root", User: "root", Account: "root", QOS: "normal", State: "running", Reason: "None", CPUs: 2,
		Alloc: []jobAlloc{{Node: "node1", CPUs: 1, GPUType: "h100", GPUIdx: []int{3}}, {Node: "node2", CPUs: 1, GPUType: "h100", GPUIdx: []int{3}}}}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("got %+v\nwant %+v", j, want)
	}

	line = `JobId=5 ArrayJobId=3 ArrayTaskId=0 JobName=train UserId=alice(1001) Account=physics QOS=normal JobState=RUNNING Reason=None Partition=gpu NumCPUs=3 SubmitTime=2026-11-29T12:00:05 EligibleTime=2026-11-29T12:00:05 JOB_GRES=gpu:h100:3 Nodes=node1 CPU_IDs=0-1,4 Mem=4096 GRES=gpu:h100:3(IDX:0-1,3) MinCPUsNode=1`
	j, err = parseJobLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want = &jobTruth{ID: "5", ArrayJobID: "3", ArrayTaskID: "0", Name: "train", User: "alice", Account: "physics", QOS: "normal",
		State: "running", Reason: "None", Partition: "gpu", CPUs: 3, SubmitTime: time.Date(2026, 11, 29, 12, 0, 5, 0, time.Local),
		Alloc: []jobAlloc{{Node: "node1", CPUs: 3, GPUType: "h100", GPUIdx: []int{0, 1, 3}}}}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("got %+v\nwant %+v", j, want)
	}
}

func TestParseNodeLine(t *testing.T) {
	line := `NodeName=node4 Arch=x86_64 CoresPerSocket=4  CPUAlloc=0 CPUEfctv=4 CPUTot=4 CPULoad=0.86 Gres=(null) RealMemory=8000 AllocMem=0 FreeMem=19751 State=IDLE+DRAIN Partitions=cpu  Reason=jobscope: simulated maintenance [root@2026-11-29T17:27:43]`
	n, err := parseNodeLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want := &nodeTruth{Name: "node4", State: "idle", Flags: []string{"drain"}, Partitions: []string{"cpu"}, CPUs: 4, MemMB: 8000,
		GPUs: map[string]int{}, GPUsUsed: map[string]int{}}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("got %+v\nwant %+v", n, want)
	}
	line = `NodeName=node1 CPUAlloc=6 CPUTot=8 Gres=gpu:h100:4 RealMemory=16000 AllocMem=9144 State=MIXED Partitions=gpu GresUsed=gpu:h100:3(IDX:0-2)`
	n, err = parseNodeLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if n.State != "mixed" || len(n.Flags) != 0 || n.GPUs["h100"] != 4 || n.GPUsUsed["h100"] != 3 || n.MemAllocMB != 9144 {
		t.Errorf("got %+v", n)
	}
}

func TestParseShares(t *testing.T) {
	out := "Account|User|RawShares|NormShares|RawUsage|NormUsage|EffectvUsage|FairShare|LevelFS|GrpTRESMins|TRESRunMins\n" +
		"root|||0.000000|503||1.000000||||cpu=0\n" +
		" chemistry||40|0.396040|139|0.277778|0.277778||1.425740||cpu=0\n" +
		"  chemistry|bob|1|1.000000|139|0.277778|1.000000|1.000000|1.000000||cpu=0\n" +
		"  physics|alice|2|0.666667|261|0.519841|1.000000|0.500000|0.666667||cpu=0\n"
	got, err := parseShares(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []shareTruth{{"chemistry", "bob", 1}, {"physics", "alice", 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExpandHostlist(t *testing.T) {
	for in, want := range map[string][]string{
		"node1":            {"node1"},
		"node[1-2]":        {"node1", "node2"},
		"node[1,3-4],gpu7": {"gpu7", "node1", "node3", "node4"},
		"n[08-10]":         {"n08", "n09", "n10"},
	} {
		if got := expandHostlist(in); !reflect.DeepEqual(got, want) {
			t.Errorf("expandHostlist(%q) = %v, want %v", in, got, want)
		}
	}
}
