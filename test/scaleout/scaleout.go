package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"jobscope/test/promtest"
	"jobscope/test/testkit"
)

// repoRoot is the module's root, found from this file's place in it, so
// tests in any package (test/e2e too) load the same files.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller: no file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RuleFiles are the shipped rule files, alerts/*.yml of the repository.
func RuleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "alerts", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no alerts/*.yml in the repository: %v", err)
	}
	return files
}

var recordLine = regexp.MustCompile(`(?m)^\s*-?\s*record:\s*"?([A-Za-z_:][A-Za-z0-9_:]*)"?\s*$`)

// RecordedNames lists every recording rule's output name in the files.
func RecordedNames(t testing.TB, files []string) []string {
	t.Helper()
	seen := map[string]bool{}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range recordLine.FindAllSubmatch(b, -1) {
			if n := string(m[1]); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// Path is the tested scale-out set-up, running.
type Path struct {
	Prom    *promtest.Server
	VM      *promtest.Client // VictoriaMetrics' Prometheus API
	VMAlert string           // vmalert's URL
	vmURL   string
}

// Start starts VictoriaMetrics, a Prometheus that scrapes targets,
// evaluates the rules itself and remote-writes the scraped series (not its
// rules' output) into VictoriaMetrics, and vmalert evaluating the same
// rules against VictoriaMetrics and writing their output back into it. It
// returns once every target has been scraped.
func Start(t testing.TB, targets []promtest.Target, rules []string) *Path {
	t.Helper()
	p := StartBackend(t, rules)
	p.Prom = promtest.Start(t, promtest.Config{
		Targets:     targets,
		RuleFiles:   rules,
		RemoteWrite: []promtest.RemoteWrite{p.RemoteWrite()},
	})
	p.Prom.WaitScraped(t, 30*time.Second)
	return p
}

// StartBackend starts VictoriaMetrics and vmalert evaluating the rules
// against it and writing their output back into it: the path without its
// Prometheus, for a test that starts its own with RemoteWrite and sets
// Prom.
func StartBackend(t testing.TB, rules []string) *Path {
	t.Helper()
	vmBin, vmalertBin := tool(t, "victoria-metrics"), tool(t, "vmalert")
	promtest.Binary(t)
	vmAddr := testkit.FreeAddr(t)
	vmURL := "http://" + vmAddr
	vm := start(t, "victoria-metrics", vmBin,
		"-httpListenAddr="+vmAddr,
		"-storageDataPath="+filepath.Join(t.TempDir(), "vm"),
		"-retentionPeriod=1d", // the smallest VictoriaMetrics accepts
		// Queries at "now" read data up to 1s old instead of VictoriaMetrics'
		// default 30s, so the chained rules settle within seconds; vmalert's
		// -rule.evalDelay below matches it, as VictoriaMetrics' docs ask.
		"-search.latencyOffset=1s",
		"-search.disableCache",
		"-loggerLevel=WARN",
	)
	vm.waitHTTP(t, vmURL+"/health", 30*time.Second)
	// VictoriaMetrics makes fresh samples searchable within seconds, a new
	// series in about 10 s. Each level of the chained rules is a new series
	// that vmalert reads back, so the test asks for a flush twice a second
	// (a site needs nothing of the kind: vmalert's default -rule.evalDelay
	// of 30s covers it).
	flushCtx, stopFlush := context.WithCancel(context.Background())
	t.Cleanup(stopFlush)
	go func() {
		for {
			select {
			case <-flushCtx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			req, _ := http.NewRequestWithContext(flushCtx, http.MethodGet, vmURL+"/internal/force_flush", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()

	alertAddr := testkit.FreeAddr(t)
	args := []string{
		"-httpListenAddr=" + alertAddr,
		"-datasource.url=" + vmURL,
		"-remoteWrite.url=" + vmURL,
		"-remoteWrite.flushInterval=1s",
		"-evaluationInterval=1s",
		"-rule.evalDelay=1s",
		"-notifier.blackhole",
		"-loggerLevel=WARN",
	}
	for _, f := range rules {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "-rule="+abs)
	}
	alerter := start(t, "vmalert", vmalertBin, args...)
	alerter.waitHTTP(t, "http://"+alertAddr+"/health", 30*time.Second)

	vmClient, err := promtest.NewClient(vmURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Path{VM: vmClient, VMAlert: "http://" + alertAddr, vmURL: vmURL}
}

// RemoteWrite is the remote_write that feeds the path: the scraped series
// into VictoriaMetrics, without the rules' output, which vmalert computes
// there (Prometheus's own copies would be a second writer of the same
// series).
func (p *Path) RemoteWrite() promtest.RemoteWrite {
	return promtest.RemoteWrite{URL: p.vmURL + "/api/v1/write", DropNames: ".+:.+|ALERTS|ALERTS_FOR_STATE"}
}

// windowed names depend on how much history each engine has (a 1d
// subquery with 1m steps over a test that ran seconds): what they give in
// the first minutes differs from run to run, so they are not compared;
// vmalert's health of their rules is.
var windowed = regexp.MustCompile(`_over_time|:ratio1d$`)

// engineDiffers are the names whose values the two engines compute
// differently on the golden pages, by design of the engines; their label
// sets are still compared. MetricsQL's increase() counts a series' first
// sample as an increase from 0 when the series starts inside the window,
// Prometheus's does not: the golden gpu-b07 page has a GPU whose
// jobscope_gpu_xid_events_total is already 1 at the first scrape, so
// VictoriaMetrics records a fault there and Prometheus does not. On a live
// agent the counter starts at 0 (it exists from 0 by design), and the two
// agree.
var engineDiffers = map[string]bool{
	"gpu:jobscope_gpu_fault:bool": true,
}

// engineDiffersAlerts are the alerts that read those increases: vmalert may
// fire them on the golden pages where Prometheus does not (never the other
// way round, which stays an error).
var engineDiffersAlerts = map[string]bool{
	"JobscopeGPUXidCritical":   true,
	"JobscopeGPUXidError":      true,
	"JobscopeJobHitByGPUFault": true,
}

var alertName = regexp.MustCompile(`alertname="([^"]+)"`)

// CompareRecorded queries every recording rule's output name in both
// Prometheus and VictoriaMetrics until they agree (same label sets, and
// with values true, values within a relative 1e-9) and each of required is
// non-empty in Prometheus, or fails the test with the differences after
// timeout. Values are comparable on static pages only: on live targets the
// two engines evaluate at different instants. The *_over_time1d and
// *:ratio1d names are queried, not compared (windowed, above). It returns
// Prometheus's answers by name.
func (p *Path) CompareRecorded(t testing.TB, names, required []string, values bool, timeout time.Duration) map[string]model.Vector {
	t.Helper()
	// vmalert's chained rules settle a level per evaluation (each reads the
	// previous level back from VictoriaMetrics): compare until all agree.
	began := time.Now()
	deadline := began.Add(timeout)
	lastLog := began
	var diffs []string
	var promSeries, vmSeries map[string]model.Vector
	for {
		diffs = diffs[:0]
		promSeries, vmSeries = map[string]model.Vector{}, map[string]model.Vector{}
		for _, n := range names {
			pv, err := p.Prom.Query(t.Context(), n)
			if err != nil {
				t.Fatal(err)
			}
			vv, err := p.VM.Query(t.Context(), n)
			if err != nil {
				t.Fatal(err)
			}
			promSeries[n], vmSeries[n] = pv, vv
			if windowed.MatchString(n) {
				continue
			}
			if d := compare(pv, vv, values && !engineDiffers[n]); d != "" {
				diffs = append(diffs, n+": "+d)
			}
		}
		for _, n := range required {
			if len(promSeries[n]) == 0 {
				diffs = append(diffs, n+": empty in Prometheus")
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			t.Logf("after %s, %d names differ, e.g. %s", time.Since(began).Round(time.Second), len(diffs), diffs[0])
		}
		time.Sleep(time.Second)
	}
	t.Logf("compared after %s", time.Since(began).Round(time.Second))
	for _, d := range diffs {
		t.Error(d)
	}
	total, jobLevel := 0, 0
	for _, n := range names {
		total += len(promSeries[n])
		if strings.HasPrefix(n, "job") {
			jobLevel += len(promSeries[n])
		}
		t.Logf("%-62s prometheus %3d  victoriametrics %3d", n, len(promSeries[n]), len(vmSeries[n]))
	}
	t.Logf("%d recording rules, %d series (%d job-level)", len(names), total, jobLevel)
	return promSeries

}

// CheckRuleHealth asks vmalert for its rules' state: every recording rule
// of the files (records of them) is loaded, and every rule (alerting ones
// too) has been evaluated, its last evaluation without an error.
func (p *Path) CheckRuleHealth(t testing.TB, records int) {
	t.Helper()
	url := p.VMAlert
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name      string `json:"name"`
						Type      string `json:"type"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
						LastEval  string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := getJSON(t.Context(), url+"/api/v1/rules", &body); err != nil {
			t.Fatal(err)
		}
		var problems []string
		recording := 0
		for _, g := range body.Data.Groups {
			for _, r := range g.Rules {
				if r.Type == "recording" {
					recording++
				}
				if r.Health != "ok" || r.LastError != "" || strings.HasPrefix(r.LastEval, "0001-") {
					problems = append(problems, fmt.Sprintf("%s/%s: health %q, last evaluation %s, error %q", g.Name, r.Name, r.Health, r.LastEval, r.LastError))
				}
			}
		}
		if recording != records {
			problems = append(problems, fmt.Sprintf("vmalert has %d recording rules, the files %d", recording, records))
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range problems {
				t.Error(p)
			}
			return
		}
		time.Sleep(time.Second)
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// compare says how b differs from a ("" if not): label sets, and where
// values, values within a relative 1e-9 (the engines sum in different
// orders).
func compare(a, b model.Vector, values bool) string {
	am, bm := byLabels(a), byLabels(b)
	var out []string
	for k, av := range am {
		bv, ok := bm[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("only in Prometheus: %s %v", k, av))
		case values && !near(float64(av), float64(bv)):
			out = append(out, fmt.Sprintf("%s: Prometheus %v, VictoriaMetrics %v", k, av, bv))
		}
	}
	for k, bv := range bm {
		if _, ok := am[k]; !ok {
			out = append(out, fmt.Sprintf("only in VictoriaMetrics: %s %v", k, bv))
		}
	}
	sort.Strings(out)
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("and %d more", len(out)-6))
	}
	return strings.Join(out, "; ")
}

func byLabels(v model.Vector) map[string]model.SampleValue {
	m := make(map[string]model.SampleValue, len(v))
	for _, s := range v {
		m[s.Metric.String()] = s.Value
	}
	return m
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// CompareAlerts checks that the alerting rules give the same active alerts
// (pending or firing, by labels) in vmalert as in Prometheus, at least one.
func (p *Path) CompareAlerts(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var promAlerts, vmAlerts map[string]bool
	// Equal three polls in a row: both sets have stopped growing.
	agreed := 0
	for {
		var err error
		if promAlerts, err = prometheusAlerts(t.Context(), p.Prom); err != nil {
			t.Fatal(err)
		}
		if vmAlerts, err = vmalertAlerts(t.Context(), p.VMAlert); err != nil {
			t.Fatal(err)
		}
		if len(promAlerts) > 0 && equalSets(promAlerts, vmAlerts) {
			agreed++
		} else {
			agreed = 0
		}
		if agreed == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(promAlerts) == 0 {
		t.Error("no active alert in Prometheus")
	}
	for k := range promAlerts {
		if !vmAlerts[k] {
			t.Errorf("active in Prometheus only: %s", k)
		}
	}
	for k := range vmAlerts {
		if !promAlerts[k] {
			if m := alertName.FindStringSubmatch(k); m != nil && engineDiffersAlerts[m[1]] {
				t.Logf("active in vmalert only, as MetricsQL's increase() counts a first sample (engineDiffers): %s", k)
				continue
			}
			t.Errorf("active in vmalert only: %s", k)
		}
	}
	for k := range promAlerts {
		t.Logf("active: %s", k)
	}
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func prometheusAlerts(ctx context.Context, s *promtest.Server) (map[string]bool, error) {
	res, err := s.API.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, al := range res.Alerts {
		out[model.Metric(al.Labels).String()] = true
	}
	return out, nil
}

// vmalertAlerts reads vmalert's /api/v1/alerts. vmalert adds the group's
// name as `alertgroup`; Prometheus has no such label.
func vmalertAlerts(ctx context.Context, url string) (map[string]bool, error) {
	var body struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := getJSON(ctx, url+"/api/v1/alerts", &body); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, al := range body.Data.Alerts {
		m := model.Metric{}
		for k, v := range al.Labels {
			if k != "alertgroup" {
				m[model.LabelName(k)] = model.LabelValue(v)
			}
		}
		out[m.String()] = true
	}
	return out, nil
}
