package infiniband

import (
	"errors"
	"strconv"
	"testing"
)

func TestParseCounter(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    uint64
		wantErr bool
		na      bool
	}{
		{"0\n", 0, false, false},
		{"4294967295\n", 4294967295, false, false},
		{"18446744073709551615\n", 1<<64 - 1, false, false},
		{"205143497464492", 205143497464492, false, false},
		{"N/A (no PMA)\n", 0, true, true},
		{"18446744073709551616\n", 0, true, false},
		{"", 0, true, false},
		{"-1\n", 0, true, false},
		{"12 34\n", 0, true, false},
		{"0x10\n", 0, true, false},
	} {
		got, err := ParseCounter([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseCounter(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if tc.na != errors.Is(err, ErrNotAvailable) {
			t.Errorf("ParseCounter(%q): ErrNotAvailable = %v, want %v", tc.in, !tc.na, tc.na)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{"40 Gb/sec (4X QDR)\n", Rate{40, 4, "QDR"}, false},
		{"10 Gb/sec (4X)\n", Rate{10, 4, ""}, false},
		{"2.5 Gb/sec (1X SDR)", Rate{2.5, 1, "SDR"}, false},
		{"25 Gb/sec (1X EDR)", Rate{25, 1, "EDR"}, false},
		{"400 Gb/sec (4X NDR)", Rate{400, 4, "NDR"}, false},
		{"300 Gb/sec (12X EDR)", Rate{300, 12, "EDR"}, false},
		{"100 Gb/sec", Rate{100, 0, ""}, false},
		{"0 Gb/sec", Rate{0, 0, ""}, false},
		{"", Rate{}, true},
		{"fast", Rate{}, true},
		{"100 Mb/sec", Rate{}, true},
		{"100 Gb/sec (4X NDR", Rate{}, true},
		{"100 Gb/sec (XX NDR)", Rate{}, true},
		{"NaN Gb/sec", Rate{}, true},
		{"-5 Gb/sec", Rate{}, true},
	} {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseStates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		phys bool
		want State
		err  bool
	}{
		{"4: ACTIVE\n", false, State{4, true, "active"}, false},
		{"1: DOWN", false, State{1, true, "down"}, false},
		{"4: ACTIVE ()", false, State{4, true, "active"}, false},
		{"DOWN", false, State{1, true, "down"}, false},
		{"5: LinkUp\n", true, State{5, true, "link_up"}, false},
		{"5: LINK_UP", true, State{5, true, "link_up"}, false},
		{"3: Disabled", true, State{3, true, "disabled"}, false},
		{"Disabled", true, State{3, true, "disabled"}, false},
		{"2: Polling", true, State{2, true, "polling"}, false},
		{"7: Phy Test", true, State{7, true, "phy_test"}, false},
		{"9: Something New", true, State{9, true, "something_new"}, false},
		{"Weird State", true, State{0, false, "weird_state"}, false},
		{"", true, State{}, true},
		{"x: ACTIVE", false, State{}, true},
		{"300: ACTIVE", false, State{}, true},
		{"12:", false, State{}, true},
	} {
		parse := ParsePortState
		if tc.phys {
			parse = ParsePhysState
		}
		got, err := parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestNormalisePCIAddress(t *testing.T) {
	for in, want := range map[string]string{
		"00000000:1B:00.0":  "0000:1b:00.0",
		"0000:1b:00.0":      "0000:1b:00.0",
		" 00000001:C3:00.1": "0001:c3:00.1",
		"garbage":           "garbage",
	} {
		if got := NormalisePCIAddress(in); got != want {
			t.Errorf("NormalisePCIAddress(%q) = %q, want %q", in, got, want)
		}
	}
	if n := CommonPathElements("devices/pci0000:10/0000:10:01.0/0000:18:00.0", "devices/pci0000:10/0000:10:01.0/0000:19:00.0"); n != 3 {
		t.Errorf("CommonPathElements = %d, want 3", n)
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"devices/pci0000:10/0000:10:01.0/0000:18:00.0", "devices/pci0000:10/0000:10:01.0/0000:19:00.0", 3},
		{"devices/pci0000:10/0000:10:01.0/0000:18:00.0", "devices/pci0000:10/0000:10:02.0/0000:19:00.0", 2},
		{"devices/pci0000:10/0000:10:01.0/0000:18:00.0", "devices/pci0000:20/0000:20:01.0/0000:21:00.0", 0},
		{"devices/virtual/rxe", "devices/virtual/siw", 0},
	} {
		if n := SameRootComplexElements(tc.a, tc.b); n != tc.want {
			t.Errorf("SameRootComplexElements(%q, %q) = %d, want %d", tc.a, tc.b, n, tc.want)
		}
	}
}

func FuzzParseCounter(f *testing.F) {
	for _, s := range []string{"0\n", "4294967295\n", "N/A (no PMA)\n", "18446744073709551616", "", "１２"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseCounter(b)
		if err != nil {
			return
		}
		// Whatever parses is a plain decimal that prints back the same.
		back, err := ParseCounter([]byte(strconv.FormatUint(v, 10)))
		if err != nil || back != v {
			t.Fatalf("%q -> %d does not round-trip", b, v)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"40 Gb/sec (4X QDR)\n", "10 Gb/sec (4X)", "100 Gb/sec", "0 Gb/sec", "2.5 Gb/sec (1X SDR)", "1e400 Gb/sec"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r.GbitPerSecond < 0 || r.GbitPerSecond != r.GbitPerSecond || r.GbitPerSecond > 1e6 {
			t.Fatalf("%q: rate %v", s, r.GbitPerSecond)
		}
	})
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"4: ACTIVE\n", "5: LinkUp", "DOWN", "4: ACTIVE ()", "7: Phy Test", ":", "255: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (State, error){ParsePortState, ParsePhysState} {
			st, err := parse(s)
			if err != nil {
				continue
			}
			if st.Name == "" {
				t.Fatalf("%q: state without a name", s)
			}
			for _, r := range st.Name {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') && !st.HasID {
					t.Fatalf("%q: label value %q not normalised", s, st.Name)
				}
			}
		}
	})
}
