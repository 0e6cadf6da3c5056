package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"jobscope/report"
)

// artifacts is where the browser test leaves the page and its screenshot
// for people to look at (gitignored).
const artifacts = "../test/.run/artifacts/report"

// chromium returns Debian's chromium, or skips (fails under CI, which
// installs it with make deps).
func chromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found under CI (make deps installs it): %v", err)
		}
		t.Skipf("chromium not found (make deps installs it): %v", err)
	}
	return p
}

// browse opens file in headless chromium and returns the DOM it built and
// the page's console messages (CSP violations, errors) from its log.
func browse(t *testing.T, bin, file string, extra ...string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
		"--window-size=1200,2000"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+file)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return out.String(), console
}

func testHTMLInBrowser(t *testing.T, r *report.Report) {
	bin := chromium(t)
	dir, err := filepath.Abs(artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := report.HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "job-"+r.Job.ID+".html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// The check can fail: the same page with a script and a remote image
	// added reports both as blocked.
	bad := filepath.Join(t.TempDir(), "bad.html")
	tampered := strings.Replace(page.String(), "</body>", `<script>console.log(1)</script><img src="http://example.invalid/x.png"></body>`, 1)
	if err := os.WriteFile(bad, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, console := browse(t, bin, bad, "--dump-dom"); len(console) < 2 {
		t.Fatalf("a page with a script and a remote image logged %q: the console check sees nothing", console)
	}

	dom, console := browse(t, bin, file, "--dump-dom")
	if len(console) > 0 {
		t.Errorf("the page logged to the console:\n%s", strings.Join(console, "\n"))
	}
	shot := filepath.Join(dir, "job-"+r.Job.ID+".png")
	_ = os.Remove(shot)
	browse(t, bin, file, "--screenshot="+shot)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot %s: %v %v", shot, st, err)
	}
	t.Logf("page and screenshot: %s, %s", file, shot)

	// The charts as the browser built them: one polyline per GPU per chart,
	// with one point per point of the GPU's series that has a value.
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{"utilization": {}, "memory": {}}
	for _, n := range r.Nodes {
		for _, g := range n.GPUs {
			for _, p := range g.Series {
				if p.Utilization != nil {
					want["utilization"][g.UUID]++
				}
				if p.MemoryUsedBytes != nil {
					want["memory"][g.UUID]++
				}
			}
		}
	}
	got := map[string]map[string]int{"utilization": {}, "memory": {}}
	var scripts int
	var walk func(n *html.Node, kind string)
	walk = func(n *html.Node, kind string) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				scripts++
			case "svg":
				kind = attr(n, "data-kind")
			case "polyline":
				if attr(n, "class") == "gpu" {
					u := attr(n, "data-uuid")
					if _, dup := got[kind][u]; dup {
						t.Errorf("%s chart: two polylines for %s", kind, u)
					}
					pts := strings.Fields(attr(n, "points"))
					got[kind][u] = len(pts)
					if d, _ := strconv.Atoi(attr(n, "data-points")); d != len(pts) {
						t.Errorf("%s: data-points %d, drawn %d", u, d, len(pts))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, kind)
		}
	}
	walk(doc, "")
	if scripts != 0 {
		t.Errorf("%d script elements in the page", scripts)
	}
	for kind, w := range want {
		if len(got[kind]) != len(w) {
			t.Errorf("%s charts: %d polylines, want one per GPU (%d)", kind, len(got[kind]), len(w))
		}
		for u, n := range w {
			if got[kind][u] != n || n < 150 {
				t.Errorf("%s chart of %s: %d points, want %d", kind, u, got[kind][u], n)
			}
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
