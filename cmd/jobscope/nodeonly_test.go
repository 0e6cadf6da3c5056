//go:build !jobscope_nodeonly

package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/testkit"
)

// The node-only build (commands_nodeonly.go) is checked against this full
// build: the test binary runs as jobscope through TestMain.

// fullJobscope runs this test binary as the full jobscope with args.
func fullJobscope(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "JOBSCOPE_TEST_MAIN=1")
	return cmd
}

// helpFlag is a flag's name and default in kingpin's --help
// ("  -h, --[no-]help", "      --gpu.backend=nvml").
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--\S+)`)

func helpFlags(t *testing.T, cmd *exec.Cmd) []string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	var flags []string
	for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
		flags = append(flags, m[1])
	}
	return flags
}

// TestNodeOnlyBinary: jobscope-node has node's flags exactly, no other
// command and none of their code, and runs node with or without the word.
func TestNodeOnlyBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testkit.BuildJobscopeNode(t)

	full := helpFlags(t, fullJobscope("node", "--help"))
	nodeOnly := helpFlags(t, exec.Command(bin, "node", "--help"))
	if len(full) < 20 || !slices.Contains(full, "--gpu.backend=nvml") {
		t.Fatalf("jobscope node --help lists %d flags, not node's: %q", len(full), full)
	}
	if !slices.Equal(full, nodeOnly) {
		t.Errorf("jobscope-node node --help flags differ from jobscope node --help's:\n got %q\nwant %q", nodeOnly, full)
	}

	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("jobscope-node --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "node* ") {
		t.Errorf("jobscope-node --help does not show node as the default command:\n%s", out)
	}
	for _, c := range []string{"slurm", "report"} {
		if strings.Contains(string(out), "\n"+c+" ") {
			t.Errorf("jobscope-node --help lists %s:\n%s", c, out)
		}
		if out, err := exec.Command(bin, c, "--help").CombinedOutput(); err == nil {
			t.Errorf("jobscope-node %s --help succeeded:\n%s", c, out)
		}
		// The same check passes on the full build, so it can fail.
		if out, err := fullJobscope(c, "--help").CombinedOutput(); err != nil {
			t.Fatalf("jobscope %s --help: %v\n%s", c, err, out)
		}
	}

	out, err = exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "jobscope-node, version ") {
		t.Errorf("jobscope-node --version: %v\n%s", err, out)
	}

	// What the tag is for: the slurm and report commands' code is not
	// linked (the symbol table is kept: make build does not strip). Nor is
	// grpc-go: the kubelet client speaks its one call over net/http (2.6 MB
	// of binary, ≈ 2 MiB resident; docs/performance.md). Nor is
	// klauspost/compress: the full binary's page compressor, a second flate
	// next to net/http's compress/gzip (collectors/gzip_full.go).
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	absent := []string{"jobscope/slurm/poller.", "jobscope/collectors/otlp.", "jobscope/report.",
		"go.opentelemetry.io/", "github.com/prometheus/client_golang/api",
		"google.golang.org/grpc.", "k8s.io/kubelet/", "github.com/klauspost/compress/"}
	var nodeSyms int
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "jobscope/collectors/node.") {
			nodeSyms++
		}
		for _, p := range absent {
			if strings.HasPrefix(s.Name, p) {
				t.Errorf("jobscope-node links %s", s.Name)
				absent = slices.DeleteFunc(absent, func(q string) bool { return q == p })
				break
			}
		}
	}
	if nodeSyms == 0 {
		t.Error("jobscope-node has no jobscope/collectors/node symbols: the symbol check reads nothing")
	}

	// Flags alone run the agent, as `node` and its flags do.
	for _, word := range [][]string{nil, {"node"}} {
		addr := testkit.FreeAddr(t)
		cmd := exec.Command(bin, append(word, "--web.listen-address="+addr, "--log.level=error",
			"--gpu.backend=simulated", "--gpu.simulated-count=2", "--kubelet.pod-resources-socket=",
			"--path.cgroupfs="+t.TempDir(), "--no-collector.infiniband")...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		mfs := scrapeWhileRunning(t, cmd, exited, &stderr, "http://"+addr+"/metrics")
		if n := len(mfs["jobscope_gpu_up"].GetMetric()); n != 2 {
			t.Errorf("jobscope-node %v: %d jobscope_gpu_up series, want 2", word, n)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("jobscope-node %v after SIGTERM: %v\n%s", word, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("jobscope-node %v did not stop on SIGTERM", word)
		}
	}
}

// scrapeWhileRunning scrapes url until the page has GPU series (10 s at
// most), and fails at once if the process exits first.
func scrapeWhileRunning(t *testing.T, cmd *exec.Cmd, exited <-chan error, stderr *strings.Builder, url string) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs, _, err := testkit.Scrape(url)
		if err == nil && len(mfs["jobscope_gpu_up"].GetMetric()) > 0 {
			return mfs
		}
		select {
		case werr := <-exited:
			t.Fatalf("%v exited: %v\n%s", cmd.Args, werr, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("%v: no GPU series in 10s (last error %v)", cmd.Args, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
