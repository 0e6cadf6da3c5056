package flagvalue

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// parse registers one flag with reg on a fresh application and parses args.
func parse(t *testing.T, reg func(*kingpin.FlagClause), args ...string) error {
	t.Helper()
	app := kingpin.New("test", "")
	app.Terminate(nil)
	reg(app.Flag("x.value", ""))
	_, err := app.Parse(args)
	return err
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		arg     string
		zeroOK  bool
		want    time.Duration
		wantErr string
	}{
		{arg: "30s", want: 30 * time.Second},
		{arg: "1s", want: time.Second},
		{arg: "abc", wantErr: `--x.value: time: invalid duration "abc"`},
		{arg: "0s", wantErr: "--x.value: 0s: must be positive"},
		{arg: "-5s", wantErr: "--x.value: -5s: must be positive"},
		{arg: "1ms", wantErr: "--x.value: 1ms: must be at least 1s"},
		{arg: "0", zeroOK: true, want: 0},
		{arg: "-5s", zeroOK: true, wantErr: "--x.value: -5s: must be positive"},
		{arg: "1ms", zeroOK: true, wantErr: "--x.value: 1ms: must be at least 1s"},
	} {
		var d *time.Duration
		err := parse(t, func(f *kingpin.FlagClause) {
			if tt.zeroOK {
				d = DurationOrZero(f.Default("5m"), time.Second)
			} else {
				d = Duration(f.Default("5m"), time.Second)
			}
		}, "--x.value="+tt.arg)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s (zero ok %v): err %v, want %q", tt.arg, tt.zeroOK, err, tt.wantErr)
			}
			continue
		}
		if err != nil || *d != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.arg, *d, err, tt.want)
		}
	}
}

func TestDurationDefault(t *testing.T) {
	var d *time.Duration
	if err := parse(t, func(f *kingpin.FlagClause) { d = Duration(f.Default("30s"), time.Second) }); err != nil || *d != 30*time.Second {
		t.Fatalf("default: %v, %v", *d, err)
	}
}

func TestLongDuration(t *testing.T) {
	for _, tt := range []struct {
		arg     string
		want    time.Duration
		wantErr string
	}{
		{arg: "30d", want: 30 * 24 * time.Hour},
		{arg: "2w", want: 14 * 24 * time.Hour},
		{arg: "1d12h", want: 36 * time.Hour},
		{arg: "1.5h", want: 90 * time.Minute},
		{arg: "soon", wantErr: `--x.value: "soon": want a duration such as 30d, 2w or 12h`},
		{arg: "0d", wantErr: "--x.value: 0d: must be positive"},
		{arg: "30s", wantErr: "--x.value: 30s: must be at least 1m0s"},
	} {
		var d *time.Duration
		err := parse(t, func(f *kingpin.FlagClause) { d = LongDuration(f.Default("30d"), time.Minute) }, "--x.value="+tt.arg)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: err %v, want %q", tt.arg, err, tt.wantErr)
			}
			continue
		}
		if err != nil || *d != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.arg, *d, err, tt.want)
		}
	}
}

func TestEnum(t *testing.T) {
	var s *string
	reg := func(f *kingpin.FlagClause) { s = Enum(f.Default("rest"), "rest", "cli") }
	if err := parse(t, reg, "--x.value=cli"); err != nil || *s != "cli" {
		t.Errorf("cli: %q, %v", *s, err)
	}
	if err := parse(t, reg); err != nil || *s != "rest" {
		t.Errorf("default: %q, %v", *s, err)
	}
	err := parse(t, reg, "--x.value=ftp")
	if err == nil || err.Error() != `--x.value: "ftp" is not one of rest, cli` {
		t.Errorf("ftp: %v", err)
	}
}

func TestInts(t *testing.T) {
	var n *int
	pos := func(f *kingpin.FlagClause) { n = Positive(f.Default("8")) }
	nonneg := func(f *kingpin.FlagClause) { n = NonNegative(f.Default("8")) }
	for _, tt := range []struct {
		reg     func(*kingpin.FlagClause)
		arg     string
		want    int
		wantErr string
	}{
		{reg: pos, arg: "3", want: 3},
		{reg: pos, arg: "0", wantErr: "--x.value: 0: must be at least 1"},
		{reg: nonneg, arg: "0", want: 0},
		{reg: nonneg, arg: "-1", wantErr: "--x.value: -1: must be at least 0"},
		{reg: nonneg, arg: "x", wantErr: `--x.value: "x" is not an integer`},
	} {
		err := parse(t, tt.reg, "--x.value="+tt.arg)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.arg, err, tt.wantErr)
			}
			continue
		}
		if err != nil || *n != tt.want {
			t.Errorf("%s: %d, %v", tt.arg, *n, err)
		}
	}
}

func TestHTTPURL(t *testing.T) {
	var s *string
	reg := func(f *kingpin.FlagClause) { s = HTTPURL(f.Default("http://localhost:9400/metrics")) }
	for _, good := range []string{"http://node7:9400/metrics", "https://[::1]:9400/"} {
		if err := parse(t, reg, "--x.value="+good); err != nil || *s != good {
			t.Errorf("%s: %q, %v", good, *s, err)
		}
	}
	if err := parse(t, reg); err != nil || *s != "http://localhost:9400/metrics" {
		t.Errorf("default: %q, %v", *s, err)
	}
	for _, bad := range []string{"localhost:9400", "ftp://host/x", "http://", "http://a b/", "/metrics"} {
		err := parse(t, reg, "--x.value="+bad)
		want := fmt.Sprintf("--x.value: %q: want an http:// or https:// URL with a host", bad)
		if err == nil || err.Error() != want {
			t.Errorf("%s: err %v, want %q", bad, err, want)
		}
	}
	// A refused URL's password stays out of the message.
	for bad, want := range map[string]string{
		"ftp://me:secret@host/x": `"ftp://me:xxxxx@host/x"`,
		"http://me:secret@a b/":  "the URL (credentials hidden)",
	} {
		err := parse(t, reg, "--x.value="+bad)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: err %v, want it to name %s", bad, err, want)
		}
	}
}
