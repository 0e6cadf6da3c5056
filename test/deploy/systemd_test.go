package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"jobscope/test/testkit"
)

const unitsDir = "../../deploy/systemd"

// defaultArgs reads VAR="..." from an /etc/default style file.
func defaultArgs(t *testing.T, path, name string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), name+"="); ok {
			return strings.Fields(strings.Trim(v, `"`))
		}
	}
	t.Fatalf("%s sets no %s", path, name)
	return nil
}

func TestSystemdUnits(t *testing.T) {
	// The node agent's unit runs jobscope-node, `jobscope node` alone.
	built := map[string]string{"jobscope": testkit.BuildJobscope(t), "jobscope-node": testkit.BuildJobscopeNode(t)}
	for _, tc := range []struct{ unit, defaults, variable, binary, command string }{
		{"jobscope-slurm.service", "jobscope-slurm.default", "JOBSCOPE_SLURM_ARGS", "jobscope", "slurm"},
		{"jobscope-node.service", "jobscope-node.default", "JOBSCOPE_NODE_ARGS", "jobscope-node", "node"},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			bin := built[tc.binary]
			unit := filepath.Join(unitsDir, tc.unit)
			body, err := os.ReadFile(unit)
			if err != nil {
				t.Fatal(err)
			}
			installed := "/usr/local/bin/" + tc.binary
			want := "ExecStart=" + installed + " " + tc.command + " $" + tc.variable
			if !strings.Contains(string(body), want+"\n") {
				t.Errorf("%s: no line %q", unit, want)
			}
			// The flags of the default file parse: --help exits 0 only
			// when every flag before it is known and valid.
			args := append([]string{tc.command}, defaultArgs(t, filepath.Join(unitsDir, tc.defaults), tc.variable)...)
			if out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", tc.binary, strings.Join(args, " "), err, out)
			}
			// A wrong flag is refused, so the check above can fail.
			if err := exec.Command(bin, tc.command, "--no-such-flag", "--help").Run(); err == nil {
				t.Error("an unknown flag was accepted")
			}
			analyze, err := exec.LookPath("systemd-analyze")
			if err != nil {
				t.Skip("systemd-analyze not installed: unit syntax not verified")
			}
			// verify wants the ExecStart binary to exist; point a copy of
			// the unit at the one just built.
			fixed := strings.ReplaceAll(string(body), installed+" ", bin+" ")
			copyPath := filepath.Join(t.TempDir(), tc.unit)
			if err := os.WriteFile(copyPath, []byte(fixed), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
			if err != nil || strings.Contains(string(out), copyPath) {
				t.Errorf("systemd-analyze verify %s: %v\n%s", tc.unit, err, out)
			}
		})
	}
}
