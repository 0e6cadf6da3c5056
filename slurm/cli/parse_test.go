package cli

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseSdiagText(t *testing.T) {
	b, err := os.ReadFile("testdata/dbd/sdiag.txt")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseSdiagText(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	us := time.Microsecond
	checks := []struct {
		name      string
		got, want any
	}{
		{"Since", d.Since, time.Unix(1795973254, 0).UTC()},
		{"ServerThreadCount", d.ServerThreadCount, uint64(3)},
		{"JobsSubmitted", d.JobsSubmitted, uint64(27)},
		{"JobsStarted", d.JobsStarted, uint64(18)},
		{"JobsCompleted", d.JobsCompleted, uint64(9)},
		{"JobsCanceled", d.JobsCanceled, uint64(1)},
		{"JobsPending", d.JobsPending, uint64(8)},
		{"JobsRunning", d.JobsRunning, uint64(8)},
		{"ScheduleCycleLast", d.ScheduleCycleLast, 137 * us},
		{"ScheduleCycleMax", d.ScheduleCycleMax, 360 * us},
		{"ScheduleCycleCount", d.ScheduleCycleCount, uint64(8)},
		{"ScheduleCycleMean", d.ScheduleCycleMean, 154 * us},
		{"ScheduleCycleSum", d.ScheduleCycleSum, 8 * 154 * us},
		{"ScheduleMeanDepth", d.ScheduleMeanDepth, uint64(4)},
		{"ScheduleQueueLength", d.ScheduleQueueLength, uint64(3)},
		{"BackfilledJobs", d.BackfilledJobs, uint64(16)},
		{"BackfillCycleCount", d.BackfillCycleCount, uint64(14)},
		{"BackfillCycleLast", d.BackfillCycleLast, 165 * us},
		{"BackfillCycleMax", d.BackfillCycleMax, 5215 * us},
		{"BackfillCycleMean", d.BackfillCycleMean, 674 * us},
		{"BackfillLastDepth", d.BackfillLastDepth, uint64(3)},
		{"BackfillLastDepthTry", d.BackfillLastDepthTry, uint64(2)},
		{"BackfillQueueLength", d.BackfillQueueLength, uint64(3)},
		{"BackfillLastCycleTime", d.BackfillLastCycleTime, time.Unix(1795973343, 0).UTC()},
		{"BackfillActive", d.BackfillActive, false},
		{"len(RPCsByType)", len(d.RPCsByType), 21},
		{"len(RPCsByUser)", len(d.RPCsByUser), 4},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r := d.RPCsByType[0]; r.Name != "REQUEST_FED_INFO" || r.Count != 18 || r.Total != 3423*us {
		t.Errorf("first RPC %+v", r)
	}
	if r := d.RPCsByUser[1]; r.Name != "alice" || r.Count != 12 || r.Total != 10349*us {
		t.Errorf("second user RPC %+v", r)
	}
}

func TestParseSdiagTextNoBackfillYet(t *testing.T) {
	// As printed by a freshly started 22.05 slurmctld.
	d, err := ParseSdiagText(strings.NewReader("Server thread count:  3\nBackfilling stats\n\tTotal cycles: 0\n\tLast cycle when: N/A\n"))
	if err != nil || !d.BackfillLastCycleTime.IsZero() {
		t.Fatalf("%+v, %v", d, err)
	}
}

func TestParseSdiagTextRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "hello world\n", "sdiag: error: Unable to contact slurm controller\n"} {
		if _, err := ParseSdiagText(strings.NewReader(in)); err == nil {
			t.Errorf("no error for %q", in)
		}
	}
	if _, err := ParseSdiagText(strings.NewReader("Server thread count: lots\n")); err == nil {
		t.Error("no error for a malformed number")
	}
}

func TestParseSshareParsable(t *testing.T) {
	f, err := os.Open("testdata/dbd/sshare_parsable.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sh, err := ParseSshareParsable(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh) != 7 {
		t.Fatalf("got %d rows, want 7: %+v", len(sh), sh)
	}
	type row struct{ acct, user, parent string }
	want := []row{
		{"root", "", ""}, {"root", "root", "root"}, {"chemistry", "", "root"}, {"chemistry", "bob", "chemistry"},
		{"physics", "", "root"}, {"physics", "alice", "physics"}, {"physics", "root", "physics"},
	}
	for i, w := range want {
		if g := (row{sh[i].Account, sh[i].User, sh[i].Parent}); g != w {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	alice := sh[5]
	if alice.RawShares != 2 || alice.NormShares != 0.666667 || alice.RawUsage != 261 || alice.EffectiveUsage != 1 || alice.FairShare != 0.5 || alice.LevelFS != 0.666667 {
		t.Errorf("alice = %+v", alice)
	}
	if !math.IsInf(sh[6].LevelFS, 1) {
		t.Errorf("physics/root LevelFS = %v, want +Inf", sh[6].LevelFS)
	}
	if !math.IsNaN(sh[2].FairShare) || !math.IsNaN(sh[0].LevelFS) {
		t.Errorf("missing values should be NaN: chemistry FairShare %v, root LevelFS %v", sh[2].FairShare, sh[0].LevelFS)
	}
}

func TestParseSshareHeaderOnly(t *testing.T) {
	f, err := os.Open("testdata/nodbd/sshare_parsable.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sh, err := ParseSshareParsable(f)
	if err != nil || len(sh) != 0 {
		t.Fatalf("got %v, %v; want no rows and no error", sh, err)
	}
}

func TestParseSshareBad(t *testing.T) {
	for _, in := range []string{
		"",
		"foo|bar\nx|y\n",
		"Account|User|RawShares\nroot||abc\n",
		"Account|User|RawShares\nroot||1\n    deep||1\n",
	} {
		if _, err := ParseSshareParsable(strings.NewReader(in)); err == nil {
			t.Errorf("no error for %q", in)
		}
	}
}

func FuzzParseSdiagText(f *testing.F) {
	for _, p := range []string{"testdata/dbd/sdiag.txt", "testdata/nodbd/sdiag.txt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Backfilling stats (WARNING: data obtained in the middle of backfilling execution.)\n\tLast cycle when: x (\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseSdiagText(bytes.NewReader(b))
		if err == nil && d == nil {
			t.Fatal("nil Diag without error")
		}
	})
}

func FuzzParseSshareParsable(f *testing.F) {
	for _, p := range []string{"testdata/dbd/sshare_parsable.txt", "testdata/nodbd/sshare_parsable.txt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := ParseSshareParsable(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, s := range sh {
			if s.Account == "" {
				t.Fatalf("row without account: %+v", s)
			}
		}
	})
}
