package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// glibcOnly are the libraries the image's run stage (distroless base: glibc) provides. The
// binary is cgo (go-nvml) but loads libnvidia-ml with dlopen, so it must need nothing else.
var glibcOnly = map[string]bool{
	"libc.so.6": true, "libpthread.so.0": true, "libdl.so.2": true, "libm.so.6": true,
	"librt.so.1": true, "libresolv.so.2": true,
}

// TestImageBinaryLinking builds the binaries as the Dockerfile does (`make build`) and lists
// their dynamic libraries: glibc's only, no NVIDIA library (NVML comes from the host's driver
// at run time), and the interpreter glibc's. Runs without a container engine.
func TestImageBinaryLinking(t *testing.T) {
	// make reads these, not the test: reading them lets go test's cache see a change.
	for _, f := range []string{"Makefile", "go.mod", "go.sum", "Dockerfile"} {
		if _, err := os.ReadFile(filepath.Join(repoRoot, f)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "jobscope")
	cmd := exec.Command("make", "--no-print-directory", "-s", "build", "BIN="+bin)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	// jobscope-node, beside it, links go-nvml too.
	for _, b := range []string{bin, filepath.Join(filepath.Dir(bin), "jobscope-node")} {
		libs, interp := elfDeps(t, b)
		t.Logf("%s needs %v (interpreter %s)", b, libs, interp)
		if len(libs) == 0 {
			t.Errorf("%s: no dynamic libraries: go-nvml's cgo build should need glibc (a static glibc binary cannot dlopen libnvidia-ml)", b)
		}
		for _, l := range notGlibc(libs) {
			t.Errorf("%s needs %s, which the run stage (glibc only) lacks", b, l)
		}
		if interp != "" && !strings.HasPrefix(filepath.Base(interp), "ld-linux") {
			t.Errorf("%s: interpreter %s is not glibc's", b, interp)
		}
	}
}

// TestLinkCheckRejects makes sure the check above can fail: what a binary linked against
// NVML or CUDA at build time would list is rejected.
func TestLinkCheckRejects(t *testing.T) {
	for _, libs := range [][]string{{"libc.so.6", "libnvidia-ml.so.1"}, {"libcuda.so.1"}, {"libstdc++.so.6", "libc.so.6"}} {
		if bad := notGlibc(libs); len(bad) == 0 {
			t.Errorf("%v accepted", libs)
		}
	}
	if bad := notGlibc([]string{"libc.so.6", "libpthread.so.0", "libdl.so.2"}); len(bad) != 0 {
		t.Errorf("glibc rejected: %v", bad)
	}
}

func notGlibc(libs []string) (bad []string) {
	for _, l := range libs {
		if !glibcOnly[l] {
			bad = append(bad, l)
		}
	}
	return bad
}

func elfDeps(t *testing.T, path string) (libs []string, interp string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err = f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	return libs, interp
}

// TestDockerfile checks what the image promises without building it: a Go build stage that
// runs `make build`, a glibc run stage, a numeric non-root USER, the NVIDIA runtime's
// variables and the entrypoint.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms, users []string
	var body strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		body.WriteString(line + "\n")
		if v, ok := strings.CutPrefix(line, "FROM "); ok {
			froms = append(froms, v)
		}
		if v, ok := strings.CutPrefix(line, "USER "); ok {
			users = append(users, v)
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:") || !strings.Contains(froms[1], "distroless/base-debian12") {
		t.Errorf("stages %q: want a golang build stage and a distroless base (glibc) run stage", froms)
	}
	if len(users) == 0 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(users[len(users)-1]) {
		t.Errorf("USER %q: want a numeric non-root user last", users)
	}
	// make build writes /out/jobscope-node beside /out/jobscope; the chart's DaemonSet runs it.
	for _, want := range []string{"make build BIN=/out/jobscope", "COPY --from=build /out/jobscope /out/jobscope-node /usr/local/bin/",
		"NVIDIA_DRIVER_CAPABILITIES=utility", "NVIDIA_VISIBLE_DEVICES=all", `ENTRYPOINT ["/usr/local/bin/jobscope"]`} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestMakeImageWithoutEngine: `make image` without a container engine says so and succeeds,
// `make image-required` fails. Skipped where an engine runs (make image would build).
func TestMakeImageWithoutEngine(t *testing.T) {
	for _, e := range []string{"docker", "podman"} {
		if exec.Command(e, "info").Run() == nil {
			t.Skipf("%s runs here: make image would build the image", e)
		}
	}
	cmd := exec.Command("make", "--no-print-directory", "image")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no container engine") {
		t.Errorf("make image: %v\n%s", err, out)
	}
	cmd = exec.Command("make", "--no-print-directory", "image-required")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("make image-required succeeded without an engine\n%s", out)
	}
}
