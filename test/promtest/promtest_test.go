package promtest

import (
	"os"
	"testing"
	"time"
)

// The harness itself: a real Prometheus scrapes a fixed page with a target
// label and evaluates a recording rule over it.
func TestScrapeAndRule(t *testing.T) {
	urls := ServePages(t, map[string][]byte{
		"/a": []byte("# TYPE jobscope_test_value gauge\njobscope_test_value{x=\"1\"} 2\n"),
	})
	rules := t.TempDir() + "/rules.yml"
	writeFile(t, rules, `groups:
  - name: test
    rules:
      - record: cluster:jobscope_test_value:sum
        expr: sum by (cluster) (jobscope_test_value)
`)
	s := Start(t, Config{
		Targets:   []Target{{Job: "pages", URLs: []string{urls["/a"]}, Labels: map[string]string{"cluster": "c1"}}},
		RuleFiles: []string{rules},
	})
	s.WaitScraped(t, 20*time.Second)
	vec := s.WaitFor(t, `cluster:jobscope_test_value:sum{cluster="c1"}`, 20*time.Second)
	if len(vec) != 1 || vec[0].Value != 2 {
		t.Fatalf("got %v, want one sample of 2", vec)
	}
	// An invalid query is an error, not an empty answer.
	if _, err := s.Query(t.Context(), "sum(("); err == nil {
		t.Fatal("a malformed query gave no error")
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
