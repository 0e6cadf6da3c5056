package infiniband

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"jobscope/test/testkit"
)

// nodeExporterBinary finds Debian's prometheus-node-exporter (or the one
// JOBSCOPE_NODE_EXPORTER names).
func nodeExporterBinary() string {
	if p := os.Getenv("JOBSCOPE_NODE_EXPORTER"); p != "" {
		return p
	}
	for _, name := range []string{"prometheus-node-exporter", "node_exporter"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// nodeExporter runs node_exporter's infiniband collector alone on sysfs and
// returns its scrape URL, its pid and a function returning what it logged.
func nodeExporter(tb testing.TB, bin, sysfs string) (url string, pid int, logged func() string) {
	tb.Helper()
	addr := testkit.FreeAddr(tb)
	abs, err := filepath.Abs(sysfs)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--path.sysfs="+abs, "--collector.disable-defaults",
		"--collector.infiniband", "--web.listen-address="+addr, "--log.level=debug")
	stderr := &testkit.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		_ = cmd.Wait() // killed by the cancel: its exit status is expected
	})
	url = "http://" + addr + "/metrics"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			if cerr := resp.Body.Close(); cerr != nil {
				tb.Fatal(cerr)
			}
			return url, cmd.Process.Pid, stderr.String
		}
	}
	tb.Fatalf("node_exporter did not start on %s: %s", addr, stderr.String())
	return "", 0, nil
}

// noEquivalent are the families here that node_exporter's infiniband
// collector has nothing like.
var noEquivalent = []string{
	"port_info", "port_state", "port_physical_state", "port_link_width_lanes",
	"port_pma_saturated", "port_stat_resets_total", "read_errors_total",
	"port_hw_stats_lifespan_seconds", "port_expected_rate_bytes_per_second",
	"port_expected_link_width_lanes", "port_link_degraded",
}

// byPort indexes a family's values by "device/port".
func byPort(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	if mf == nil {
		return out
	}
	for _, m := range mf.Metric {
		var dev, port string
		for _, lp := range m.Label {
			switch lp.GetName() {
			case "device":
				dev = lp.GetValue()
			case "port":
				port = lp.GetValue()
			}
		}
		v := m.GetCounter().GetValue()
		if m.Gauge != nil {
			v = m.Gauge.GetValue()
		}
		out[dev+"/"+port] = v
	}
	return out
}

// TestSideBySideNodeExporter runs node_exporter's infiniband collector on
// the same trees and checks that every byte and packet count it reports is
// the same here, and logs what it lacks.
func TestSideBySideNodeExporter(t *testing.T) {
	bin := nodeExporterBinary()
	if bin == "" {
		t.Skip("prometheus-node-exporter not installed (apt-get install prometheus-node-exporter, or set JOBSCOPE_NODE_EXPORTER): side-by-side check skipped")
	}
	pairs := [][2]string{
		{"node_infiniband_port_data_received_bytes_total", "jobscope_infiniband_port_received_bytes_total"},
		{"node_infiniband_port_data_transmitted_bytes_total", "jobscope_infiniband_port_transmitted_bytes_total"},
		{"node_infiniband_port_packets_received_total", "jobscope_infiniband_port_received_packets_total"},
		{"node_infiniband_port_packets_transmitted_total", "jobscope_infiniband_port_transmitted_packets_total"},
		{"node_infiniband_unicast_packets_received_total", "jobscope_infiniband_port_unicast_received_packets_total"},
		{"node_infiniband_unicast_packets_transmitted_total", "jobscope_infiniband_port_unicast_transmitted_packets_total"},
		{"node_infiniband_multicast_packets_received_total", "jobscope_infiniband_port_multicast_received_packets_total"},
		{"node_infiniband_multicast_packets_transmitted_total", "jobscope_infiniband_port_multicast_transmitted_packets_total"},
		{"node_infiniband_legacy_data_received_bytes_total", "jobscope_infiniband_port_ext_received_bytes_total"},
		{"node_infiniband_legacy_data_transmitted_bytes_total", "jobscope_infiniband_port_ext_transmitted_bytes_total"},
		{"node_infiniband_legacy_packets_received_total", "jobscope_infiniband_port_ext_received_packets_total"},
		{"node_infiniband_legacy_packets_transmitted_total", "jobscope_infiniband_port_ext_transmitted_packets_total"},
	}
	entries, err := os.ReadDir(treesDir)
	if err != nil {
		t.Fatal(err)
	}
	// Most fixture trees make node_exporter's collector fail as a whole;
	// the generated 8-HCA node is one it reads completely.
	trees := map[string]string{"generated_8hca": writeGenTree(t, t.TempDir(), 8).root}
	for _, e := range entries {
		trees[e.Name()] = filepath.Join(treesDir, e.Name())
	}
	for name, sysfs := range trees {
		t.Run(name, func(t *testing.T) {
			url, _, logged := nodeExporter(t, bin, sysfs)
			theirs, _, err := testkit.Scrape(url)
			if err != nil {
				t.Fatal(err)
			}
			// Every counters/ file, as node_exporter reads them all.
			c := newCollector(t, Options{SysFS: sysfs, Config: Config{Counters: CountersAll}})
			reg, a := registry(t, c)
			ours := gather(t, reg, a)
			if name == "generated_8hca" && byPort(theirs["node_scrape_collector_success"])["/"] != 1 {
				t.Fatalf("node_exporter failed on the generated tree: %s", lastLine(logged()))
			}

			if ok := byPort(theirs["node_scrape_collector_success"]); ok["/"] == 0 {
				// node_exporter's collector failed as a whole: it lost
				// every port of every device over one file.
				ports := byPort(ours["jobscope_infiniband_port_state_id"])
				time.Sleep(100 * time.Millisecond) // its log line follows the scrape
				t.Logf("node_exporter: infiniband collector FAILED (no series at all): %s; jobscope: %d ports", lastLine(logged()), len(ports))
				if len(ports) == 0 {
					t.Errorf("jobscope lost the ports too")
				}
				return
			}
			compared := 0
			for _, p := range pairs {
				want, got := byPort(theirs[p[0]]), byPort(ours[p[1]])
				for port, v := range want {
					compared++
					if g, ok := got[port]; !ok || g != v {
						t.Errorf("%s{%s} = %v; %s = %v (present %v)", p[0], port, v, p[1], g, ok)
					}
				}
			}
			var lacks []string
			for _, name := range noEquivalent {
				if _, ok := ours["jobscope_infiniband_"+name]; ok {
					lacks = append(lacks, name)
				}
			}
			if compared == 0 {
				t.Errorf("nothing compared")
			}
			t.Logf("%d byte/packet counts equal; node_exporter lacks: %s", compared, strings.Join(lacks, " "))
			if hw := byPort(ours["jobscope_infiniband_port_hw_stats_total"]); len(hw) > 0 {
				t.Logf("hw_counters here: %d series; node_exporter: %s", countSeries(ours["jobscope_infiniband_port_hw_stats_total"]), countPrefix(theirs, "node_infiniband_"))
			}
		})
	}
}

// lastLine is node_exporter's last log line about its infiniband collector.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "infiniband") && strings.Contains(lines[i], "err=") {
			return lines[i]
		}
	}
	return "(no log line)"
}

func countSeries(mf *dto.MetricFamily) int {
	if mf == nil {
		return 0
	}
	return len(mf.Metric)
}

func countPrefix(mfs map[string]*dto.MetricFamily, prefix string) string {
	n := 0
	for name, mf := range mfs {
		if strings.HasPrefix(name, prefix) {
			n += len(mf.Metric)
		}
	}
	return fmt.Sprintf("%d node_infiniband_* series in all", n)
}
