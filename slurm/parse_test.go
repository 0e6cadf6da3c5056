package slurm

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGRES(t *testing.T) {
	tests := []struct {
		in   string
		want []GRES
	}{
		{"", nil},
		{"N/A", nil},
		{"(null)", nil},
		{"gpu:4", []GRES{{Name: "gpu", Count: 4}}},
		{"gpu", []GRES{{Name: "gpu", Count: 1}}},
		{"gpu:h100:4", []GRES{{Name: "gpu", Type: "h100", Count: 4}}},
		{"gpu:h100:4(IDX:0-3)", []GRES{{Name: "gpu", Type: "h100", Count: 4, Indices: []int{0, 1, 2, 3}}}},
		{"gpu:2(IDX:0,2)", []GRES{{Name: "gpu", Count: 2, Indices: []int{0, 2}}}},
		{"gpu:h100:2(S:0-1)", []GRES{{Name: "gpu", Type: "h100", Count: 2}}},
		{"gpu:nvidia_h100_80gb_hbm3:0(IDX:N/A)", []GRES{{Name: "gpu", Type: "nvidia_h100_80gb_hbm3"}}},
		{"gpu:a100_3g.40gb:1(IDX:0)", []GRES{{Name: "gpu", Type: "a100_3g.40gb", Count: 1, Indices: []int{0}}}},
		{"gpu:h100:2(IDX:0,2),shard:8", []GRES{
			{Name: "gpu", Type: "h100", Count: 2, Indices: []int{0, 2}},
			{Name: "shard", Count: 8},
		}},
		{"gpu:h100:4(IDX:0-1,3),gpu:a100:1(IDX:4)", []GRES{
			{Name: "gpu", Type: "h100", Count: 4, Indices: []int{0, 1, 3}},
			{Name: "gpu", Type: "a100", Count: 1, Indices: []int{4}},
		}},
		{"gres/gpu:h100=2", []GRES{{Name: "gpu", Type: "h100", Count: 2}}},
		{"gres/gpu=2", []GRES{{Name: "gpu", Count: 2}}},
		{"gres:gpu:2", []GRES{{Name: "gpu", Count: 2}}},
		{"gres/gpu:2", []GRES{{Name: "gpu", Count: 2}}},
		{"gres:gpu:h100:1", []GRES{{Name: "gpu", Type: "h100", Count: 1}}},
		{"mps:1K", []GRES{{Name: "mps", Count: 1024}}},
		{"gpu:gen:8(S:0-1)", []GRES{{Name: "gpu", Type: "gen", Count: 8}}},
		// Untyped GPUs: Slurm (21.08 to at least 23.x) prints the missing
		// type of a node's gres_used as "(null)".
		{"gpu:(null):6(IDX:1-6)", []GRES{{Name: "gpu", Count: 6, Indices: []int{1, 2, 3, 4, 5, 6}}}},
		{"gpu:(null):0(IDX:N/A)", []GRES{{Name: "gpu"}}},
		{"gpu:(null):2(IDX:0-1),gpu:a100:1(IDX:2)", []GRES{
			{Name: "gpu", Count: 2, Indices: []int{0, 1}},
			{Name: "gpu", Type: "a100", Count: 1, Indices: []int{2}},
		}},
	}
	for _, tt := range tests {
		got, err := ParseGRES(tt.in)
		if err != nil {
			t.Errorf("ParseGRES(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseGRES(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"gpu:h100:x", "gpu:1:2:3", "gpu:2(IDX:0-", "gpu:2(IDX:3-1)", "gpu:2(IDX:0-99999999)", ":4", "gpu:2)x"} {
		if _, err := ParseGRES(bad); err == nil {
			t.Errorf("ParseGRES(%q): want error", bad)
		}
	}
}

func TestParseTRES(t *testing.T) {
	tests := []struct {
		in   string
		want TRES
	}{
		{"", TRES{}},
		{"cpu=2,mem=4G,node=1,billing=2,gres/gpu=2,gres/gpu:h100=2",
			TRES{CPUs: 2, MemoryBytes: 4 << 30, Nodes: 1, Billing: 2, GPUs: 2, HasMemory: true, HasGPUs: true}},
		{"cpu=1,mem=62.50G,node=1,billing=1",
			TRES{CPUs: 1, MemoryBytes: 67108864000, Nodes: 1, Billing: 1, HasMemory: true}},
		{"cpu=4,mem=382712M,node=2,billing=4",
			TRES{CPUs: 4, MemoryBytes: 382712 << 20, Nodes: 2, Billing: 4, HasMemory: true}},
		// Only typed entries: sum them.
		{"gres/gpu:h100=2,gres/gpu:a100=1", TRES{GPUs: 3, HasGPUs: true}},
		{"cpu=8,mem=16000M,billing=8,gres/gpu=4,gres/gpu:h100=4",
			TRES{CPUs: 8, MemoryBytes: 16000 << 20, Billing: 8, GPUs: 4, HasMemory: true, HasGPUs: true}},
		{"cpu=1,energy=5,fs/disk=10,license/x=1", TRES{CPUs: 1}},
	}
	for _, tt := range tests {
		got, err := ParseTRES(tt.in)
		if err != nil {
			t.Errorf("ParseTRES(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseTRES(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"cpu", "cpu=x", "mem=4Q", "gres/gpu=-1"} {
		if _, err := ParseTRES(bad); err == nil {
			t.Errorf("ParseTRES(%q): want error", bad)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]uint64{"4G": 4 << 30, "1000M": 1000 << 20, "16000": 16000 << 20, "2T": 2 << 40, "512K": 512 << 10, "0.5G": 1 << 29} {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "NaN", "99999999999999999999T"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q): want error", bad)
		}
	}
}

func TestExpandHostlist(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"(null)", nil},
		{"node1", []string{"node1"}},
		{"node[1-3,5]", []string{"node1", "node2", "node3", "node5"}},
		{"gpu-[01-04]-ib", []string{"gpu-01-ib", "gpu-02-ib", "gpu-03-ib", "gpu-04-ib"}},
		{"a[1-2]b[3-4]", []string{"a1b3", "a1b4", "a2b3", "a2b4"}},
		{"n1,n2", []string{"n1", "n2"}},
		{"node[1-2],gpu[08-10]", []string{"node1", "node2", "gpu08", "gpu09", "gpu10"}},
		{"worker-[1,0]", []string{"worker-1", "worker-0"}},
		{"cs2.example.company.com", []string{"cs2.example.company.com"}},
	}
	for _, tt := range tests {
		got, err := ExpandHostlist(tt.in)
		if err != nil {
			t.Errorf("ExpandHostlist(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandHostlist(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"node[1-3", "node]1", "node[3-1]", "node[a-b]", "node[1-2[3]]", "n[0-9999999999]", "a[0-999]b[0-999]c[0-999]", "node[]", "node[1-]"} {
		if _, err := ExpandHostlist(bad); err == nil {
			t.Errorf("ExpandHostlist(%q): want error", bad)
		}
	}
}

func TestParseNodeState(t *testing.T) {
	tests := []struct {
		in        []string
		state     string
		wantFlags []string
	}{
		{[]string{"MIXED+DRAIN"}, "MIXED", []string{"DRAIN"}},
		{[]string{"IDLE+NOT_RESPONDING"}, "IDLE", []string{"NOT_RESPONDING"}},
		{[]string{"idle*"}, "IDLE", []string{"NOT_RESPONDING"}},
		{[]string{"drain"}, "UNKNOWN", []string{"DRAIN"}},
		{[]string{"IDLE", "DRAIN"}, "IDLE", []string{"DRAIN"}},
		{[]string{"IDLE", "DRAIN", "NOT_RESPONDING"}, "IDLE", []string{"DRAIN", "NOT_RESPONDING"}},
		{[]string{"mixed"}, "MIXED", nil},
		{[]string{"mixed", "DRAIN"}, "MIXED", []string{"DRAIN"}},
		{[]string{"alloc"}, "ALLOCATED", nil},
		{[]string{"IDLE", "DYNAMIC_NORM"}, "IDLE", []string{"DYNAMIC_NORM"}},
		{[]string{"down~"}, "DOWN", []string{"POWERED_DOWN"}},
		{nil, "UNKNOWN", nil},
	}
	for _, tt := range tests {
		s, f := ParseNodeState(tt.in...)
		if s != tt.state || !reflect.DeepEqual(f, tt.wantFlags) {
			t.Errorf("ParseNodeState(%q) = %q %q, want %q %q", tt.in, s, f, tt.state, tt.wantFlags)
		}
	}
}

func TestParseJobState(t *testing.T) {
	tests := []struct {
		in        []string
		state     string
		wantFlags []string
	}{
		{[]string{"RUNNING"}, "RUNNING", nil},
		{[]string{"RUNNING", "COMPLETING"}, "RUNNING", []string{"COMPLETING"}},
		{[]string{"COMPLETED"}, "COMPLETED", nil},
		{[]string{"PENDING", "REQUEUED"}, "PENDING", []string{"REQUEUED"}},
		{[]string{"completing"}, "UNKNOWN", []string{"COMPLETING"}},
		{[]string{"CANCELLED+"}, "CANCELLED", nil},
	}
	for _, tt := range tests {
		s, f := ParseJobState(tt.in...)
		if s != tt.state || !reflect.DeepEqual(f, tt.wantFlags) {
			t.Errorf("ParseJobState(%q) = %q %q, want %q %q", tt.in, s, f, tt.state, tt.wantFlags)
		}
	}
}

func FuzzParseGRES(f *testing.F) {
	for _, s := range []string{"gpu:h100:4(IDX:0-3)", "gpu:2(IDX:0,2),shard:8", "gres/gpu:h100=2", "gres:gpu:2", "gpu:h100:2(S:0-1)", "N/A", "gpu:a100_3g.40gb:1(IDX:0)", "mps:1K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGRES(s)
		if err != nil && g != nil {
			t.Fatalf("error with result: %v", err)
		}
		for _, e := range g {
			if len(e.Indices) > maxGRESIndices {
				t.Fatalf("too many indices: %d", len(e.Indices))
			}
		}
		_, _ = ParseTRES(s)
		_, _ = ParseMemory(s)
	})
}

func FuzzExpandHostlist(f *testing.F) {
	for _, s := range []string{"node[1-3,5]", "gpu-[01-04]-ib", "a[1-2]b[3-4]", "n1,n2", "worker-[1,0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := ExpandHostlist(s)
		if err != nil {
			return
		}
		if len(hosts) > MaxHostlistHosts {
			t.Fatalf("%d hosts exceeds cap", len(hosts))
		}
		for _, h := range hosts {
			if strings.ContainsAny(h, "[],") {
				t.Fatalf("unexpanded host %q from %q", h, s)
			}
		}
	})
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"MIXED+DRAIN", "idle*", "IDLE+NOT_RESPONDING", "RUNNING", "mixed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if st, _ := ParseNodeState(s); st == "" {
			t.Fatal("empty node state")
		}
		if st, _ := ParseJobState(s); st == "" {
			t.Fatal("empty job state")
		}
	})
}
