package dashboards

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Generated-section markers of docs/dashboards.md; the text around them is
// written by hand.
const (
	docBegin = "<!-- BEGIN GENERATED: dashboards (go generate ./dashboards) -->"
	docEnd   = "<!-- END GENERATED: dashboards -->"
	// DocPath and JSONDir are relative to the repository root.
	DocPath = "docs/dashboards.md"
	JSONDir = "dashboards/json"
)

// Render returns every generated file, by path relative to the repository
// root at root: each dashboard's JSON and docs/dashboards.md with its
// generated section replaced.
func Render(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range All() {
		b, err := d.JSON()
		if err != nil {
			return nil, err
		}
		out[filepath.Join(JSONDir, d.Name+".json")] = b
	}
	doc, err := os.ReadFile(filepath.Join(root, DocPath))
	if err != nil {
		return nil, err
	}
	spliced, err := splice(doc, []byte(Markdown()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DocPath, err)
	}
	out[DocPath] = spliced
	return out, nil
}

func splice(doc, section []byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(docBegin))
	j := bytes.Index(doc, []byte(docEnd))
	if i < 0 || j < i {
		return nil, fmt.Errorf("markers %q and %q not found in order", docBegin, docEnd)
	}
	var b bytes.Buffer
	b.Write(doc[:i+len(docBegin)])
	b.WriteString("\n")
	b.Write(section)
	b.Write(doc[j:])
	return b.Bytes(), nil
}

// Markdown is the generated section of docs/dashboards.md: each
// dashboard's variables and panels with the question each answers, and the
// Open OnDemand configuration that points at the job drill-down's panels.
func Markdown() string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, d := range All() {
		fmt.Fprintf(&b, "\n### %s\n\nuid `%s`, file `%s/%s.json`. %s\n\n", d.Title, d.UID(), JSONDir, d.Name, d.Description)
		b.WriteString("Variables: `datasource`")
		for _, v := range d.Variables() {
			fmt.Fprintf(&b, ", `%s` (`%s`)", v.Name, cell(v.Query()))
		}
		b.WriteString(".\n\n| id | panel | kind | unit | question it answers |\n|---|---|---|---|---|\n")
		for _, r := range d.Rows {
			for _, p := range r.Panels {
				fmt.Fprintf(&b, "| %d | %s: %s | %s | `%s` | %s |\n", p.ID, r.Title, p.Title, p.Kind, p.Unit, cell(p.Description))
			}
		}
	}
	fmt.Fprintf(&b, "\n### Open OnDemand\n\n"+
		"The job drill-down's CPU (panel %d), memory (panel %d) and GPU (panel %d) panels take the job from the\n"+
		"variables `cluster`, `node` and `job_id`. Open OnDemand's Active Jobs app embeds panels by dashboard uid\n"+
		"and panel id, passing the cluster, the host and the job ID as the variables its `labels` name\n"+
		"(`/etc/ood/config/clusters.d/<cluster>.yml`):\n\n"+
		"```yaml\nv2:\n  custom:\n    grafana:\n      host: \"https://grafana.example.org\"\n      orgId: 1\n"+
		"      dashboard:\n        name: \"jobscope-job\"\n        uid: \"%s\"\n        panels:\n          cpu: %d\n          memory: %d\n"+
		"      labels:\n        cluster: \"cluster\"\n        host: \"node\"\n        jobid: \"job_id\"\n```\n",
		JobPanelCPU, JobPanelMemory, JobPanelGPU, Job().UID(), JobPanelCPU, JobPanelMemory)
	return b.String()
}
