package slurm

import (
	"slices"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tt := range []struct {
		in    string
		steps bool
		want  indexRange
		bad   bool
	}{
		{in: "5", want: indexRange{5, 5, 1, 1}},
		{in: "0-3", want: indexRange{0, 3, 1, 1}},
		{in: "01-10", want: indexRange{1, 10, 1, 2}},
		{in: "0-10:2", steps: true, want: indexRange{0, 10, 2, 1}},
		{in: "0-10:2", bad: true}, // no steps in IDX lists or hostlists
		{in: "0-10:0", steps: true, bad: true},
		{in: "5-3", bad: true},
		{in: "", bad: true},
		{in: "-1", bad: true},
		{in: "1-", bad: true},
		{in: "a-b", bad: true},
		{in: "9223372036854775808", bad: true}, // 2^63
	} {
		got, err := parseRange(tt.in, tt.steps)
		if tt.bad {
			if err == nil {
				t.Errorf("parseRange(%q, %v) = %+v, want error", tt.in, tt.steps, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRange(%q, %v) = %+v, %v; want %+v", tt.in, tt.steps, got, err, tt.want)
		}
	}
}

func TestParseIndexList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
		bad  bool
	}{
		{in: "0-3,5", want: []int{0, 1, 2, 3, 5}},
		{in: "7", want: []int{7}},
		{in: "0,2", want: []int{0, 2}},
		{in: "3-1", bad: true},
		{in: "0,,1", bad: true},
		{in: "0-4096", bad: true}, // beyond maxGRESIndices
		{in: "0-4095,4096", bad: true},
		{in: "1-2:1", bad: true},
	} {
		got, err := ParseIndexList(tt.in)
		if tt.bad != (err != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("ParseIndexList(%q) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestCountArrayTasks(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"2-9%2", 8}, // the throttle is not a task
		{"8-9%2", 2}, // recorded: squeue --json on the local cluster
		{"1-10", 10}, // recorded
		{"1,3,5-7", 5},
		{"1-5,7,9-11%2", 9},
		{"0-10:2", 6},       // step
		{"0-9:3", 4},        // 0 3 6 9
		{"1-5,7,9-1...", 7}, // cut short: the cut term counts one
		{"1-5,7...", 6},
		{"x", 1}, // unparseable: one
		{"5-3", 1},
		{"", 0},
		{"%4", 0},
		{"0-99999999999", maxArrayTasks},
	} {
		if got := CountArrayTasks(tt.in); got != tt.want {
			t.Errorf("CountArrayTasks(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// The three users of the range syntax agree on what a range is.
func TestRangeParsersAgree(t *testing.T) {
	for _, expr := range []string{"0-3", "1,4-6", "07-11"} {
		idx, err := ParseIndexList(expr)
		if err != nil {
			t.Fatal(err)
		}
		hosts, err := ExpandHostlist("n[" + expr + "]")
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != len(hosts) || CountArrayTasks(expr) != len(idx) {
			t.Errorf("%q: %d indices, %d hosts, %d array tasks", expr, len(idx), len(hosts), CountArrayTasks(expr))
		}
	}
}

func FuzzCountArrayTasks(f *testing.F) {
	for _, s := range []string{"2-9%2", "1,3,5-7", "0-10:2", "1-5,7,9-1..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := CountArrayTasks(s); n < 0 {
			t.Fatalf("CountArrayTasks(%q) = %d", s, n)
		}
	})
}
