package slurm

import "testing"

func TestCutSizeSuffix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		bare uint64
		num  string
		mult uint64
		bad  bool
	}{
		{in: "4G", bare: 1, num: "4", mult: 1 << 30},
		{in: "4g", bare: 1, num: "4", mult: 1 << 30},
		{in: "1K", bare: 1, num: "1", mult: 1 << 10},
		{in: "3M", bare: 1, num: "3", mult: 1 << 20},
		{in: "2T", bare: 1, num: "2", mult: 1 << 40},
		{in: "1P", bare: 1, num: "1", mult: 1 << 50},
		{in: "16000", bare: 1 << 20, num: "16000", mult: 1 << 20},
		{in: "7", bare: 1, num: "7", mult: 1},
		{in: "62.50G", bare: 1, num: "62.50", mult: 1 << 30},
		{in: "4X", bad: true},
		{in: "4GB", bad: true},
		{in: "", bad: true},
	} {
		num, mult, err := cutSizeSuffix(tt.in, tt.bare)
		if tt.bad {
			if err == nil {
				t.Errorf("cutSizeSuffix(%q) = %q, %d; want error", tt.in, num, mult)
			}
			continue
		}
		if err != nil || num != tt.num || mult != tt.mult {
			t.Errorf("cutSizeSuffix(%q) = %q, %d, %v; want %q, %d", tt.in, num, mult, err, tt.num, tt.mult)
		}
	}
}

func TestParseGRESCount(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: "4", want: 4},
		{in: "1K", want: 1024},
		{in: "2k", want: 2048},
		{in: "1M", want: 1 << 20},
		{in: "K", bad: true},
		{in: "1.5K", bad: true}, // counts are integers
		{in: "-1", bad: true},
		{in: "20000000000000000P", bad: true}, // overflows
	} {
		got, err := parseGRESCount(tt.in)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("parseGRESCount(%q) = %d, %v; want %d (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
