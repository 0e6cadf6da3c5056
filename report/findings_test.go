package report

import (
	"testing"
)

func f(v float64) *float64 { return &v }

func gpuWith(uuid string, util float64) GPU {
	return GPU{UUID: uuid, Index: uuid, Utilization: &Stat{Mean: util, P95: util, Max: util}}
}

func kinds(fs []Finding) map[string][]string {
	m := map[string][]string{}
	for _, x := range fs {
		m[x.Kind] = append(m[x.Kind], x.Node+"/"+x.GPU)
	}
	return m
}

// The thresholds at their edges, and the node-level findings the
// Prometheus fixture does not cause.
func TestJudge(t *testing.T) {
	r := &Report{Nodes: []Node{
		{Name: "n1", GPUs: []GPU{gpuWith("a", 0.05), gpuWith("b", 0.8)},
			Host:       &Host{CPUs: f(8), CPUEfficiency: f(0.5), MemoryPeakRatio: f(0.96), OOMKills: f(0)},
			InfiniBand: &InfiniBand{Traffic: Traffic{ReceivedBytes: 100, TransmittedBytes: 100}}},
		{Name: "n2", GPUs: []GPU{gpuWith("c", 0.8), gpuWith("d", 0.8)},
			InfiniBand: &InfiniBand{Traffic: Traffic{ReceivedBytes: 1000, TransmittedBytes: 1000}}},
		{Name: "n3", GPUs: []GPU{gpuWith("e", 0.2), gpuWith("f", 0.2)},
			InfiniBand: &InfiniBand{Traffic: Traffic{ReceivedBytes: 1000, TransmittedBytes: 1000}}},
	}}
	got := kinds(Judge(r))
	want := map[string][]string{
		// 5% is not idle but low; it lags the median GPU (0.8).
		"low_utilization":      {"n1/a", "n3/e", "n3/f"},
		"gpu_imbalance":        {"n1/a", "n3/e", "n3/f"},
		"host_memory_bound":    {"n1/"},
		"node_imbalance":       {"n3/"}, // 0.2 < 0.5 × median node 0.425
		"infiniband_imbalance": {"n1/"}, // 200 B against a median of 2000
	}
	for k, w := range want {
		if len(got[k]) != len(w) {
			t.Errorf("%s: %v, want %v", k, got[k], w)
			continue
		}
		for i := range w {
			if got[k][i] != w[i] {
				t.Errorf("%s: %v, want %v", k, got[k], w)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %v", k, got[k])
		}
	}

	// A single GPU or node is never imbalanced against itself, and a job
	// with no data has nothing to say.
	one := &Report{Nodes: []Node{{Name: "n", GPUs: []GPU{gpuWith("a", 0.9)}, InfiniBand: &InfiniBand{Traffic: Traffic{ReceivedBytes: 1}}}}}
	if fs := Judge(one); len(fs) != 0 {
		t.Errorf("one GPU: %+v", fs)
	}
	if fs := Judge(&Report{Nodes: []Node{{Name: "n"}}}); len(fs) != 0 {
		t.Errorf("no data: %+v", fs)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"train-llm":           "train-llm",
		"a\nb\r\tc":           `a\nb\r\tc`,
		"\x1b[31mred\x1b[0m":  `\x1b[31mred\x1b[0m`,
		"evil\u202etxt.exe":   `evil\u202etxt.exe`,
		`back\slash "q" <b>`:  `back\\slash "q" <b>`,
		"bad \xff utf8":       `bad \xff utf8`,
		"ünïcödé 名前 ok":       "ünïcödé 名前 ok",
		"zero\u200bwidth\x00": `zero\u200bwidth\x00`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %s, want %s", in, got, want)
		}
	}
}
