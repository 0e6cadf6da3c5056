package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobscope/slurm"
)

// fakeBin writes small shell scripts standing in for the Slurm commands:
// they cat the recorded outputs of the real 22.05 commands. That is the test
// boundary; everything from exec onwards is the real code.
func fakeBin(t *testing.T, fixtures string, override map[string]string) string {
	t.Helper()
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := filepath.Abs("testdata/sinfo_partitions.txt")
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"squeue": `[ "$1" = --json ] || exit 2; cat "$F/squeue.json"`,
		"sinfo": `case "$1" in --json) cat "$F/squeue.json" >/dev/null; cat "$F/sinfo.json";; -V) cat "$F/version.txt";;
  -h) cat "` + parts + `";; *) exit 2;; esac`,
		"sdiag":    `if [ "$1" = --json ]; then cat "$F/sdiag.json.err" >&2; exit 1; fi; cat "$F/sdiag.txt"`,
		"sshare":   `cat "$F/sshare_parsable.txt"`,
		"scontrol": `case "$1" in ping) cat "$F/scontrol_ping.txt";; --json) cat "$F/scontrol_json.err" >&2; exit 1;; *) exit 2;; esac`,
	}
	for k, v := range override {
		scripts[k] = v
	}
	dir := t.TempDir()
	for name, body := range scripts {
		s := "#!/bin/sh\nF='" + abs + "'\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSourceWithFixtures(t *testing.T) {
	src, err := New(Options{BinDir: fakeBin(t, "testdata/dbd", nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := src.Info(ctx)
	if err != nil || info.Release != "22.05.8" || len(info.Controllers) != 1 || !info.Controllers[0].Up || !info.Controllers[0].Primary || info.Controllers[0].Hostname != "vm" {
		t.Fatalf("info %+v, %v", info, err)
	}
	jobs, err := src.Jobs(ctx)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("jobs %d, %v", len(jobs), err)
	}
	nodes, err := src.Nodes(ctx)
	if err != nil || len(nodes) != 4 {
		t.Fatalf("nodes %d, %v", len(nodes), err)
	}
	parts, err := src.Partitions(ctx)
	if err != nil || len(parts) != 2 {
		t.Fatalf("partitions %+v, %v", parts, err)
	}
	if p := parts[0]; p.Name != "cpu" || !p.Default || p.State != "UP" || p.TotalNodes != 2 || p.TotalCPUs != 8 || p.MaxTime != 24*time.Hour || p.NodeList != "node[3-4]" {
		t.Fatalf("cpu partition %+v", p)
	}
	for i := range 2 { // second call goes straight to the text parser
		d, err := src.Diag(ctx)
		if err != nil || d.JobsSubmitted != 27 {
			t.Fatalf("diag #%d %+v, %v", i, d, err)
		}
	}
	if !src.sdiagText.Load() {
		t.Fatal("sdiag --json failure not remembered")
	}
	if !src.scontrolNoJSON.Load() {
		t.Fatal("scontrol --json failure not remembered")
	}
	sh, err := src.Shares(ctx)
	if err != nil || len(sh) != 7 {
		t.Fatalf("shares %d, %v", len(sh), err)
	}
	// The cluster name comes from squeue's answer, read above.
	if info, err := src.Info(ctx); err != nil || info.Cluster != "feas" {
		t.Fatalf("cluster %q, %v", info.Cluster, err)
	}
}

func TestSourceNoDBD(t *testing.T) {
	src, err := New(Options{BinDir: fakeBin(t, "testdata/nodbd", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Shares(context.Background()); !errors.Is(err, slurm.ErrNotSupported) {
		t.Fatalf("shares without dbd: %v", err)
	}
}

func TestSourceErrors(t *testing.T) {
	bin := fakeBin(t, "testdata/dbd", map[string]string{
		"squeue":   `echo 'squeue: error: Unable to contact slurm controller (connect failure)' >&2; exit 1`,
		"sinfo":    `sleep 30`,
		"sshare":   `echo '{"not": "sshare"'`,
		"scontrol": `[ "$1" = --json ] && { echo "scontrol: unrecognized option '--json'" >&2; exit 1; }; echo 'Slurmctld(primary) at vm is DOWN'; exit 1`,
	})
	src, err := New(Options{BinDir: bin, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = src.Jobs(ctx)
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 || !strings.Contains(err.Error(), "Unable to contact slurm controller") {
		t.Fatalf("squeue failure: %v", err)
	}
	start := time.Now()
	_, err = src.Nodes(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("hung sinfo: %v after %v", err, time.Since(start))
	}
	if _, err := src.Shares(ctx); err == nil {
		t.Fatal("garbage sshare output accepted")
	}
	if _, err := New(Options{BinDir: "/nonexistent"}); err == nil {
		t.Fatal("missing bin dir accepted")
	}
	src2, _ := New(Options{BinDir: t.TempDir()})
	if _, err := src2.Jobs(ctx); err == nil {
		t.Fatal("missing command not reported")
	}
}

func TestScontrolPingDown(t *testing.T) {
	c, err := ParseScontrolPing(strings.NewReader("Slurmctld(primary) at a is UP\nSlurmctld(backup) at b is DOWN\n"))
	if err != nil || len(c) != 2 || !c[0].Primary || c[1].Up || c[1].Primary {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestParseSlurmDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"infinite": 0, "UNLIMITED": 0, "30": 30 * time.Minute, "10:05": 10*time.Minute + 5*time.Second,
		"2:00:00": 2 * time.Hour, "1-00:00:00": 24 * time.Hour, "1-12": 36 * time.Hour, "2-03:04": 51*time.Hour + 4*time.Minute,
	} {
		got, err := ParseSlurmDuration(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "1:2:3:4", "-1", "1-x"} {
		if _, err := ParseSlurmDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestRealCLI runs the real Slurm commands of a running cluster.
func TestRealCLI(t *testing.T) {
	conf := os.Getenv("JOBSCOPE_SLURM_CONF")
	if conf == "" {
		t.Skip("set JOBSCOPE_SLURM_CONF to a running cluster's slurm.conf to test the real Slurm CLI")
	}
	src, err := New(Options{Env: []string{"SLURM_CONF=" + conf}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := src.Info(ctx)
	if err != nil || info.Release == "" || len(info.Controllers) == 0 {
		t.Fatalf("info %+v, %v", info, err)
	}
	if _, err := src.Jobs(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, err := src.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("nodes %d, %v", len(nodes), err)
	}
	parts, err := src.Partitions(ctx)
	if err != nil || len(parts) == 0 {
		t.Fatalf("partitions %+v, %v", parts, err)
	}
	if _, err := src.Diag(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := src.Shares(ctx)
	if err != nil && !errors.Is(err, slurm.ErrNotSupported) {
		t.Fatal(err)
	}
	t.Logf("release %s, %d nodes, %d partitions, %d share rows", info.Release, len(nodes), len(parts), len(sh))
}

// TestSourceScontrolJSON: where scontrol has --json (23.02+), nodes and
// partitions come from it, one object per node, not from sinfo's groups.
func TestSourceScontrolJSON(t *testing.T) {
	v44, err := filepath.Abs("testdata/v0.0.44")
	if err != nil {
		t.Fatal(err)
	}
	bin := fakeBin(t, "testdata/dbd", map[string]string{
		"scontrol": `[ "$1 $2 $3" = "--json show nodes" ] && exec cat '` + v44 + `/scontrol_show_nodes.json'
[ "$1 $2 $3" = "--json show partitions" ] && exec cat '` + v44 + `/scontrol_show_partitions.json'
exit 2`,
		"sinfo": `echo "sinfo must not be used" >&2; exit 3`,
	})
	src, err := New(Options{BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nodes, err := src.Nodes(ctx)
	if err != nil || len(nodes) == 0 || nodes[0].Name == "" {
		t.Fatalf("nodes %+v, %v", nodes, err)
	}
	parts, err := src.Partitions(ctx)
	if err != nil || len(parts) == 0 || parts[0].Name == "" {
		t.Fatalf("partitions %+v, %v", parts, err)
	}
	if src.scontrolNoJSON.Load() {
		t.Fatal("scontrol --json marked missing")
	}
}

// TestSourceScontrolFailure: scontrol failing for another reason is an
// error of that poll, not a switch to sinfo for good.
func TestSourceScontrolFailure(t *testing.T) {
	bin := fakeBin(t, "testdata/dbd", map[string]string{
		"scontrol": `echo "slurm_load_node error: Unable to contact slurm controller (connect failure)" >&2; exit 1`,
	})
	src, err := New(Options{BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Nodes(context.Background()); err == nil || !strings.Contains(err.Error(), "Unable to contact") {
		t.Fatalf("err = %v", err)
	}
	if src.scontrolNoJSON.Load() {
		t.Fatal("a controller outage switched scontrol off for good")
	}
}
