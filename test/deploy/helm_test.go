package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/exporter-toolkit/web"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"jobscope/test/testkit"
)

var chartDir = filepath.Join(repoRoot, "deploy/helm/jobscope")

// rendered is one `helm template` output, every object decoded strictly into its type.
type rendered struct {
	deployments     []appsv1.Deployment
	daemonSets      []appsv1.DaemonSet
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	secrets         []corev1.Secret
	networkPolicies []networkingv1.NetworkPolicy
	serviceMonitors []monitoringv1.ServiceMonitor
	podMonitors     []monitoringv1.PodMonitor
	rules           []monitoringv1.PrometheusRule
	counts          map[string]int
}

// docSplit splits a multi-document YAML stream at lines that are exactly "---".
var docSplit = regexp.MustCompile(`(?m)^---\s*$`)

// decodeStrict decodes one object as the API server's strict field validation does: field
// names are case-sensitive (encoding/json would take hostPid for hostPID), and an unknown or
// duplicate field is an error.
func decodeStrict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc) // duplicate YAML keys
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, into)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// templateChart runs `helm template` with the values files and decodes what it prints.
func templateChart(t *testing.T, helm, chart string, values ...string) rendered {
	t.Helper()
	readTree(t, chart)
	args := []string{"template", "jobscope", chart, "--namespace", "monitoring"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	out := run(t, helm, args...)
	r := rendered{counts: map[string]int{}}
	for _, doc := range docSplit.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		key := meta.APIVersion + "/" + meta.Kind
		r.counts[meta.Kind]++
		var err error
		switch key {
		case "apps/v1/Deployment":
			err = appendDecoded(doc, &r.deployments)
		case "apps/v1/DaemonSet":
			err = appendDecoded(doc, &r.daemonSets)
		case "v1/Service":
			err = appendDecoded(doc, &r.services)
		case "v1/ConfigMap":
			err = appendDecoded(doc, &r.configMaps)
		case "v1/Secret":
			err = appendDecoded(doc, &r.secrets)
		case "networking.k8s.io/v1/NetworkPolicy":
			err = appendDecoded(doc, &r.networkPolicies)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			err = appendDecoded(doc, &r.serviceMonitors)
		case "monitoring.coreos.com/v1/PodMonitor":
			err = appendDecoded(doc, &r.podMonitors)
		case "monitoring.coreos.com/v1/PrometheusRule":
			err = appendDecoded(doc, &r.rules)
		default:
			t.Fatalf("the chart renders %s, which the test does not decode: add it", key)
		}
		if err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", key, err, doc)
		}
	}
	return r
}

func appendDecoded[T any](doc string, into *[]T) error {
	var v T
	if err := decodeStrict([]byte(doc), &v); err != nil {
		return err
	}
	*into = append(*into, v)
	return nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// readTree reads every file below dir. helm reads the chart, not the test binary, so without
// this go test's cache would not see a changed template and would replay an old result.
func readTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// valueSets are the chart's defaults and each example.
func valueSets(t *testing.T) map[string][]string {
	examples, err := filepath.Glob(filepath.Join(chartDir, "examples/*.yaml"))
	if err != nil || len(examples) < 2 {
		t.Fatalf("examples: %v %v", examples, err)
	}
	sets := map[string][]string{"default": nil}
	for _, e := range examples {
		sets[strings.TrimSuffix(filepath.Base(e), ".yaml")] = []string{e}
	}
	return sets
}

func TestChartLintAndRender(t *testing.T) {
	helm := testkit.Tool(t, "helm", "make helm")
	readTree(t, chartDir)
	bins := imageBinaries{"": testkit.BuildJobscope(t), "/usr/local/bin/jobscope-node": testkit.BuildJobscopeNode(t)}
	for name, values := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir, "--namespace", "monitoring"}
			for _, v := range values {
				args = append(args, "-f", v)
			}
			run(t, helm, args...)
			r := templateChart(t, helm, chartDir, values...)
			t.Logf("rendered: %v", r.counts)
			checkRendered(t, r, bins)
		})
	}
}

// imageBinaries maps a container's command to the binary built as the image's: "" is the
// image's entrypoint (jobscope); the Dockerfile installs jobscope-node beside it.
type imageBinaries map[string]string

// checkRendered checks what the chart promises beyond the types.
func checkRendered(t *testing.T, r rendered, bins imageBinaries) {
	t.Helper()
	if len(r.deployments) != 1 || len(r.daemonSets) != 1 || len(r.services) != 2 {
		t.Fatalf("want 1 Deployment, 1 DaemonSet, 2 Services; got %v", r.counts)
	}
	dep, ds := r.deployments[0], r.daemonSets[0]

	// The node agent runs jobscope-node (`jobscope node` alone), the cluster exporter the
	// image's entrypoint.
	if got := ds.Spec.Template.Spec.Containers[0].Command; !slices.Equal(got, []string{"/usr/local/bin/jobscope-node"}) {
		t.Errorf("DaemonSet command %q, want [/usr/local/bin/jobscope-node]", got)
	}
	// Every container's arguments are flags its binary accepts (--help exits 0 only then).
	for _, c := range []corev1.Container{dep.Spec.Template.Spec.Containers[0], ds.Spec.Template.Spec.Containers[0]} {
		bin, ok := bins[strings.Join(c.Command, " ")]
		if !ok {
			t.Errorf("%s: command %q is not a binary the image has", c.Args[0], c.Command)
			continue
		}
		args := make([]string, len(c.Args))
		for i, a := range c.Args { // the kubelet expands $(NODE_IP)
			args[i] = strings.ReplaceAll(a, "$(NODE_IP)", "10.0.0.1")
		}
		if out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem not read-only", c.Args[0])
		}
		if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s: privilege escalation allowed", c.Args[0])
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: no memory request or limit", c.Args[0])
		}
	}

	// The cluster exporter: non-root; the token is a whole Secret volume (a subPath mount
	// would never see a rotated token).
	pod := dep.Spec.Template.Spec
	if sc := pod.Containers[0].SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("jobscope slurm may run as root")
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("mount %s uses subPath: rotated secrets would not be seen", m.Name)
		}
	}
	if tokenArg := argValue(pod.Containers[0].Args, "--slurm.token-file"); tokenArg != "" {
		if !mounted(pod.Containers[0], pod.Volumes, tokenArg, true) {
			t.Errorf("token file %s is not on a Secret volume", tokenArg)
		}
	}

	// The node agent: hostPID, every hostPath read-only, NODE_NAME from the downward API,
	// a priority class, and the paths it is told are the ones mounted.
	npod := ds.Spec.Template.Spec
	nc := npod.Containers[0]
	if !npod.HostPID {
		t.Error("node agent without hostPID: NVML's PIDs would not be in /proc")
	}
	if npod.PriorityClassName == "" {
		t.Error("node agent without a priority class")
	}
	hostPaths := map[string]string{}
	for _, v := range npod.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	for _, m := range nc.VolumeMounts {
		if _, ok := hostPaths[m.Name]; ok && !m.ReadOnly {
			t.Errorf("host path %s mounted read-write", hostPaths[m.Name])
		}
	}
	for _, want := range []string{"/proc", "/sys", "/sys/fs/cgroup", "/run/jobscope"} {
		if !containsValue(hostPaths, want) {
			t.Errorf("host path %s not mounted (have %v)", want, hostPaths)
		}
	}
	for _, flag := range []string{"--path.procfs", "--path.sysfs", "--path.cgroupfs"} {
		if p := argValue(nc.Args, flag); !mounted(nc, npod.Volumes, p, false) {
			t.Errorf("%s=%s is not a mounted host path", flag, p)
		}
	}
	prolog := filepath.Join(argValue(nc.Args, "--path.rootfs"), argValue(nc.Args, "--slurm.prolog-dir"))
	if !mounted(nc, npod.Volumes, prolog, false) {
		t.Errorf("prolog dir %s is not below a mounted host path", prolog)
	}
	if sock := argValue(nc.Args, "--kubelet.pod-resources-socket"); sock != "" && !mounted(nc, npod.Volumes, sock, false) {
		t.Errorf("pod-resources socket %s is not mounted", sock)
	}
	var nodeName bool
	for _, e := range nc.Env {
		if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			nodeName = true
		}
	}
	if !nodeName {
		t.Error("NODE_NAME is not spec.nodeName")
	}

	// Services select their pods and expose the container port by name.
	for _, s := range r.services {
		var tmpl corev1.PodTemplateSpec
		switch {
		case strings.HasSuffix(s.Name, "-slurm"):
			tmpl = dep.Spec.Template
		case strings.HasSuffix(s.Name, "-node"):
			tmpl = ds.Spec.Template
		default:
			t.Fatalf("unexpected Service %s", s.Name)
		}
		if !selects(s.Spec.Selector, tmpl.Labels) {
			t.Errorf("Service %s selects %v, pods have %v", s.Name, s.Spec.Selector, tmpl.Labels)
		}
		if s.Spec.Ports[0].TargetPort.StrVal != tmpl.Spec.Containers[0].Ports[0].Name {
			t.Errorf("Service %s targets %v", s.Name, s.Spec.Ports[0].TargetPort)
		}
	}

	// Monitors honour jobscope's labels (docs/names.md) and select what the chart made.
	for _, sm := range r.serviceMonitors {
		for _, ep := range sm.Spec.Endpoints {
			if !ep.HonorLabels {
				t.Errorf("ServiceMonitor %s: honorLabels false", sm.Name)
			}
		}
		found := false
		for _, s := range r.services {
			found = found || selects(sm.Spec.Selector.MatchLabels, s.Labels)
		}
		if !found {
			t.Errorf("ServiceMonitor %s selects no Service", sm.Name)
		}
	}
	for _, pm := range r.podMonitors {
		for _, ep := range pm.Spec.PodMetricsEndpoints {
			if !ep.HonorLabels {
				t.Errorf("PodMonitor %s: honorLabels false", pm.Name)
			}
		}
		if !selects(pm.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
			t.Errorf("PodMonitor %s does not select the node agents", pm.Name)
		}
	}
	// The web configuration is one the exporter-toolkit accepts.
	for _, sec := range r.secrets {
		if cfg, ok := sec.StringData["web-config.yml"]; ok {
			f := filepath.Join(t.TempDir(), "web-config.yml")
			if err := os.WriteFile(f, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := web.Validate(f); err != nil {
				t.Errorf("Secret %s: web-config.yml rejected: %v\n%s", sec.Name, err, cfg)
			}
		}
	}
	for _, np := range r.networkPolicies {
		if len(np.Spec.Ingress) == 0 {
			t.Errorf("NetworkPolicy %s allows no ingress: Prometheus could not scrape", np.Name)
		}
	}
}

func argValue(args []string, flag string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// mounted says whether path lies at or below a volume mount of the container (of a Secret
// volume when secret is set).
func mounted(c corev1.Container, vols []corev1.Volume, path string, secret bool) bool {
	for _, m := range c.VolumeMounts {
		if path != m.MountPath && !strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range vols {
			if v.Name == m.Name && (!secret || v.Secret != nil) {
				return true
			}
		}
	}
	return false
}

func containsValue(m map[string]string, want string) bool {
	for _, v := range m {
		if v == want {
			return true
		}
	}
	return false
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestChartShipsRulesAndDashboards renders the chart as it is: its PrometheusRules are the
// files of alerts/, loaded by promtool, and its dashboard ConfigMaps hold dashboards/json/
// byte for byte (whatever of them exists yet).
func TestChartShipsRulesAndDashboards(t *testing.T) {
	helm := testkit.Tool(t, "helm", "make helm")
	promtool := testkit.Tool(t, "promtool", "make deps")
	r := templateChart(t, helm, chartDir)
	checkRules(t, promtool, r, sourceFiles(t, "alerts/*.yml"))
	checkDashboards(t, r, sourceFiles(t, "dashboards/json/*.json"))
}

// TestChartRendersAddedFiles puts a rule file and a dashboard into a copy of the chart, so the
// rendering path is exercised whether or not alerts/ and dashboards/ exist yet.
func TestChartRendersAddedFiles(t *testing.T) {
	helm := testkit.Tool(t, "helm", "make helm")
	promtool := testkit.Tool(t, "promtool", "make deps")
	chart := filepath.Join(t.TempDir(), "jobscope")
	copyTree(t, chartDir, chart)
	rules, _ := os.ReadFile("testdata/rules.yml")
	dash, _ := os.ReadFile("testdata/dashboard.json")
	if len(rules) == 0 || len(dash) == 0 {
		t.Fatal("testdata/rules.yml or testdata/dashboard.json missing")
	}
	for name, b := range map[string][]byte{"files/alerts/zz_test.yml": rules, "files/dashboards/zz_test.json": dash} {
		if err := os.WriteFile(filepath.Join(chart, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := templateChart(t, helm, chart)
	want := sourceFiles(t, "alerts/*.yml")
	want["zz_test.yml"] = rules
	checkRules(t, promtool, r, want)
	wantDash := sourceFiles(t, "dashboards/json/*.json")
	wantDash["zz_test.json"] = dash
	checkDashboards(t, r, wantDash)
}

func checkRules(t *testing.T, promtool string, r rendered, want map[string][]byte) {
	t.Helper()
	if len(r.rules) != len(want) {
		t.Errorf("%d PrometheusRules for %d rule files", len(r.rules), len(want))
	}
	for _, pr := range r.rules {
		src := strings.TrimPrefix(pr.Annotations["jobscope/source"], "alerts/")
		orig, ok := want[src]
		if !ok {
			t.Errorf("PrometheusRule %s from %q, which is no rule file", pr.Name, src)
			continue
		}
		// promtool loads the groups as Prometheus will (the operator passes them on as they are).
		spec, err := json.Marshal(pr.Spec)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.JSONToYAML(spec)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), src)
		if err := os.WriteFile(f, y, 0o644); err != nil {
			t.Fatal(err)
		}
		out := run(t, promtool, "check", "rules", f)
		t.Logf("%s: %s", pr.Name, strings.TrimSpace(out))
		// Same groups as the source file.
		var a, b monitoringv1.PrometheusRuleSpec
		if err := decodeStrict(orig, &a); err != nil {
			t.Fatalf("alerts/%s is no Prometheus rule file: %v", src, err)
		}
		if err := decodeStrict(y, &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("PrometheusRule %s differs from alerts/%s", pr.Name, src)
		}
	}
}

func checkDashboards(t *testing.T, r rendered, want map[string][]byte) {
	t.Helper()
	got := map[string]bool{}
	for _, cm := range r.configMaps {
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		for k, v := range cm.Data {
			got[k] = true
			w, ok := want[k]
			if !ok {
				t.Errorf("ConfigMap %s holds %s, which is not in dashboards/json", cm.Name, k)
				continue
			}
			// Helm's indent drops nothing but the final newline (|- block).
			if v != strings.TrimRight(string(w), "\n") {
				t.Errorf("ConfigMap %s: %s differs from the source", cm.Name, k)
			}
			if !json.Valid([]byte(v)) {
				t.Errorf("ConfigMap %s: %s is not JSON", cm.Name, k)
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("dashboard %s not shipped in a ConfigMap", k)
		}
	}
}

// TestChartSchemaRejects: a values file that breaks values.schema.json fails both lint and
// template, with the schema's message.
func TestChartSchemaRejects(t *testing.T) {
	helm := testkit.Tool(t, "helm", "make helm")
	readTree(t, chartDir)
	for name, bad := range map[string]string{
		"unknown key":        "slurm:\n  restUrl: http://x:6820\n",
		"wrong type":         "slurm:\n  replicas: two\n",
		"bad backend":        "node:\n  gpuBackend: rocm\n",
		"bad duration":       "monitoring:\n  podMonitor:\n    interval: 15 seconds\n",
		"relative host path": "node:\n  hostPaths:\n    proc: proc\n",
		"URL without scheme": "slurm:\n  restURL: slurmrestd:6820\n",
		"top-level typo":     "clusterName: a\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range [][]string{{"lint", "--strict", chartDir, "-f", f}, {"template", "x", chartDir, "-f", f}} {
				out, err := exec.Command(helm, cmd...).CombinedOutput()
				if err == nil {
					t.Errorf("helm %s accepted %q\n%s", cmd[0], bad, out)
				} else if !strings.Contains(string(out), "schema") {
					t.Errorf("helm %s failed, but not on the schema:\n%s", cmd[0], out)
				}
			}
		})
	}
}

// TestChartCopiesInSync: the chart's files/ hold exactly alerts/*.yml and
// dashboards/json/*.json (`make chart-sync` copies them).
func TestChartCopiesInSync(t *testing.T) {
	for src, dst := range map[string]string{
		"alerts/*.yml":           "deploy/helm/jobscope/files/alerts/*.yml",
		"dashboards/json/*.json": "deploy/helm/jobscope/files/dashboards/*.json",
	} {
		a, b := sourceFiles(t, src), sourceFiles(t, dst)
		var diff []string
		for k, v := range a {
			if w, ok := b[k]; !ok {
				diff = append(diff, k+" missing from the chart")
			} else if !bytes.Equal(v, w) {
				diff = append(diff, k+" differs")
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				diff = append(diff, k+" is in the chart only")
			}
		}
		sort.Strings(diff)
		if len(diff) > 0 {
			t.Errorf("%s vs %s: %s: run `make chart-sync`", src, dst, strings.Join(diff, "; "))
		}
		t.Logf("%s: %d files in sync", src, len(a))
	}
}
