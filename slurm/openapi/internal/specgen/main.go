// Command specgen writes example slurmrestd response bodies for the data
// parser versions we have OpenAPI specs for but no recorded payloads
// (v0.0.42-v0.0.45). It walks the 200-response schema of each endpoint and
// fills every property: the fields jobscope reads get fixed, meaningful
// values (so tests can assert them), everything else a neutral zero value of
// the schema's type, so the decoders are exercised against the full shape,
// including fields they must skip.
//
// Usage (see the go:generate line in the openapi package):
//
//	go run ./internal/specgen -specs DIR -out testdata
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

type schema map[string]any

type gen struct {
	schemas map[string]schema
	version string
}

func main() {
	specs := flag.String("specs", "", "directory with v00NN-slurm-openapi.json files")
	out := flag.String("out", "testdata", "output directory")
	flag.Parse()
	for _, v := range []string{"42", "43", "44", "45"} {
		if err := genVersion(*specs, *out, v); err != nil {
			log.Fatal(err)
		}
	}
}

func genVersion(specDir, outDir, v string) error {
	raw, err := os.ReadFile(filepath.Join(specDir, "v00"+v+"-slurm-openapi.json"))
	if err != nil {
		return err
	}
	var spec struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return err
	}
	version := "v0.0." + v
	g := &gen{schemas: spec.Components.Schemas, version: version}
	for _, ep := range []string{"ping", "jobs", "nodes", "partitions", "diag", "shares"} {
		path := "/slurm/" + version + "/" + ep + "/"
		op, ok := spec.Paths[path]
		if !ok {
			op, ok = spec.Paths[strings.TrimSuffix(path, "/")]
		}
		if !ok {
			return fmt.Errorf("%s: no path %s", version, path)
		}
		ref, err := responseRef(op)
		if err != nil {
			return fmt.Errorf("%s %s: %w", version, ep, err)
		}
		body := g.value(schema{"$ref": ref}, nil, 0, 0)
		b, err := json.MarshalIndent(body, "", " ")
		if err != nil {
			return err
		}
		name := filepath.Join(outDir, "specgen-"+version+"_"+ep+".json")
		if err := os.WriteFile(name, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func responseRef(op map[string]any) (string, error) {
	get, _ := op["get"].(map[string]any)
	resp, _ := get["responses"].(map[string]any)
	ok, _ := resp["200"].(map[string]any)
	content, _ := ok["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	sc, _ := js["schema"].(map[string]any)
	ref, _ := sc["$ref"].(string)
	if ref == "" {
		return "", fmt.Errorf("no 200 application/json schema ref")
	}
	return ref, nil
}

// noVal marks an override for a {set,infinite,number} field.
type noVal struct {
	n        any
	infinite bool
}

// override returns the fixed value for the property at path (names from the
// response root; "[]" is not recorded), item i of its enclosing array.
func (g *gen) override(path []string, i int) (any, bool) {
	name := path[len(path)-1]
	parent := ""
	if len(path) > 1 {
		parent = path[len(path)-2]
	}
	root := path[0]
	switch root {
	case "meta":
		return g.overrideMeta(name)
	case "errors", "warnings":
		return []any{}, true
	case "pings":
		return overridePings(name)
	case "jobs":
		return overrideJobs(path, name, parent, i)
	case "nodes":
		return overrideNodes(name)
	case "partitions":
		return overridePartitions(name, parent)
	case "statistics":
		return overrideStatistics(name, parent)
	case "shares":
		return overrideShares(path, name, parent, i)
	}
	return nil, false
}

// overrideMeta is override for a property under the response's "meta".
func (g *gen) overrideMeta(name string) (any, bool) {
	switch name {
	case "type":
		return "openapi/slurmctld", true
	case "data_parser":
		return "data_parser/" + g.version, true
	case "release":
		return "25.05.1", true
	case "cluster":
		return "specgen", true
	case "major":
		return "25", true
	case "minor":
		return "05", true
	case "micro":
		return "1", true
	}
	return nil, false
}

// overridePings is override for a property under the response's "pings".
func overridePings(name string) (any, bool) {
	switch name {
	case "hostname":
		return "ctl1", true
	case "pinged":
		return "UP", true
	case "responding", "primary":
		return true, true
	case "latency":
		return 1500, true
	case "mode":
		return "primary", true
	}
	return nil, false
}

// overrideJobs is override for a property under the response's "jobs".
func overrideJobs(path []string, name, parent string, i int) (any, bool) {
	if parent == "allocation" || ((parent == "cpus" || parent == "memory") && path[len(path)-3] == "allocation") {
		switch name {
		case "index":
			return i, true
		case "name":
			return fmt.Sprintf("node%d", i+1), true
		case "count":
			return 8, true
		case "allocated":
			return 8192, true
		}
	}
	switch name {
	case "job_id":
		return 1001, true
	case "array_job_id":
		return noVal{n: 1000}, true
	case "array_task_id":
		return noVal{n: 3}, true
	case "name":
		return "train", true
	case "user_name":
		return "alice", true
	case "user_id":
		return 1001, true
	case "account":
		return "physics", true
	case "partition":
		return "gpu", true
	case "qos":
		return "normal", true
	case "job_state":
		return []any{"RUNNING", "COMPLETING"}, true
	case "state_reason":
		return "None", true
	case "submit_time":
		return noVal{n: 1700000000}, true
	case "start_time":
		return noVal{n: 1700000100}, true
	case "end_time":
		return noVal{n: 1700003700}, true
	case "time_limit":
		return noVal{n: 60}, true
	case "cpus":
		if parent == "jobs" {
			return noVal{n: 16}, true
		}
	case "node_count":
		return noVal{n: 2}, true
	case "memory_per_node":
		return noVal{n: 8192}, true
	case "tres_alloc_str", "tres_req_str":
		return "cpu=16,mem=16G,node=2,billing=16,gres/gpu=4,gres/gpu:h100=4", true
	case "tres_per_node":
		return "gres/gpu:h100:2", true
	case "gres_detail":
		return []any{"gpu:h100:2(IDX:0-1)", "gpu:h100:2(IDX:2-3)"}, true
	case "nodes", "list":
		if parent == "jobs" || parent == "nodes" {
			return "node[1-2]", true
		}
	}
	return nil, false
}

// overrideNodes is override for a property under the response's "nodes".
func overrideNodes(name string) (any, bool) {
	switch name {
	case "name", "hostname":
		return "node1", true
	case "address":
		return "10.0.0.1", true
	case "state":
		return []any{"MIXED", "DRAIN"}, true
	case "reason":
		return "maintenance", true
	case "reason_changed_at":
		return noVal{n: 1700000000}, true
	case "partitions":
		return []any{"gpu", "debug"}, true
	case "features":
		return []any{"h100", "ib"}, true
	case "cpus":
		return 64, true
	case "alloc_cpus":
		return 16, true
	case "cpu_load":
		return 250, true
	case "real_memory":
		return 512000, true
	case "alloc_memory":
		return 16384, true
	case "free_mem":
		return noVal{n: 400000}, true
	case "gres":
		return "gpu:h100:8(S:0-1)", true
	case "gres_used":
		return "gpu:h100:4(IDX:0-3)", true
	case "version":
		return "25.05.1", true
	case "boot_time":
		return noVal{n: 1699990000}, true
	case "last_busy":
		return noVal{n: 1700000200}, true
	}
	return nil, false
}

// overridePartitions is override for a property under the response's "partitions".
func overridePartitions(name, parent string) (any, bool) {
	switch {
	case name == "name" && parent == "partitions":
		return "gpu", true
	case name == "state" && parent == "partition":
		return []any{"UP"}, true
	case name == "configured" && parent == "nodes":
		return "node[1-2]", true
	case name == "total" && parent == "nodes":
		return 2, true
	case name == "total" && parent == "cpus":
		return 128, true
	case name == "time" && parent == "maximums":
		return noVal{n: 1440}, true
	case name == "flags" && parent == "partitions":
		return []any{"DEFAULT"}, true
	}
	return nil, false
}

// overrideStatistics is override for a property under the response's "statistics".
func overrideStatistics(name, parent string) (any, bool) {
	if v, ok := diagValues[name]; ok {
		return v, true
	}
	if parent == "rpcs_by_message_type" || parent == "rpcs_by_user" {
		switch name {
		case "message_type":
			return "REQUEST_JOB_INFO", true
		case "user":
			return "root", true
		case "count":
			return 10, true
		case "total_time":
			return 5000, true
		}
	}
	return nil, false
}

// overrideShares is override for a property under the response's "shares".
func overrideShares(path []string, name, parent string, i int) (any, bool) {
	user := i == 1
	switch name {
	case "name":
		if user {
			return "alice", true
		}
		return "physics", true
	case "parent":
		if user {
			return "physics", true
		}
		return "root", true
	case "type":
		if user {
			return []any{"USER"}, true
		}
		return []any{"ASSOCIATION"}, true
	case "shares":
		if len(path) == 3 {
			return noVal{n: 10}, true
		}
	case "shares_normalized":
		return noVal{n: 0.5}, true
	case "usage":
		if len(path) == 3 {
			return 1234, true
		}
	case "effective_usage":
		return noVal{n: 0.25}, true
	case "factor":
		if user {
			return noVal{n: 0.75}, true
		}
	case "level":
		if !user {
			return noVal{infinite: true}, true
		}
		return noVal{n: 1.5}, true
	case "total_shares":
		return 10, true
	}
	return nil, false
}

var diagValues = map[string]any{
	"req_time_start":            noVal{n: 1700000000},
	"req_time":                  noVal{n: 1700003600},
	"server_thread_count":       3,
	"agent_queue_size":          1,
	"agent_count":               2,
	"agent_thread_count":        4,
	"dbd_agent_queue_size":      5,
	"jobs_submitted":            100,
	"jobs_started":              90,
	"jobs_completed":            80,
	"jobs_canceled":             6,
	"jobs_failed":               2,
	"jobs_pending":              10,
	"jobs_running":              8,
	"schedule_cycle_last":       110,
	"schedule_cycle_max":        1666,
	"schedule_cycle_mean":       66,
	"schedule_cycle_sum":        10791,
	"schedule_cycle_total":      162,
	"schedule_queue_length":     7,
	"schedule_cycle_mean_depth": 3,
	"bf_active":                 true,
	"bf_backfilled_jobs":        12,
	"bf_backfilled_het_jobs":    1,
	"bf_cycle_counter":          20,
	"bf_cycle_last":             2000,
	"bf_cycle_max":              9000,
	"bf_cycle_mean":             2500,
	"bf_cycle_sum":              50000,
	"bf_last_depth":             30,
	"bf_last_depth_try":         25,
	"bf_queue_len":              15,
	"bf_when_last_cycle":        noVal{n: 1700003500},
}

func (g *gen) value(s schema, path []string, i, depth int) any {
	if len(path) > 0 {
		if v, ok := g.override(path, i); ok {
			if nv, isNoVal := v.(noVal); isNoVal {
				return map[string]any{"set": !nv.infinite, "infinite": nv.infinite, "number": orZero(nv.n)}
			}
			return v
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		if strings.HasSuffix(name, "_no_val_struct") {
			return map[string]any{"set": false, "infinite": false, "number": 0}
		}
		if depth > 40 {
			return nil
		}
		return g.value(g.schemas[name], path, i, depth+1)
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			ps, _ := p.(map[string]any)
			out[k] = g.value(ps, append(path[:len(path):len(path)], k), i, depth+1)
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		n := 1
		if len(path) > 0 {
			switch path[len(path)-1] {
			case "allocation", "shares":
				n = 2
			}
		}
		out := []any{}
		for k := 0; k < n; k++ {
			out = append(out, g.value(items, path, k, depth+1))
		}
		return out
	case "string":
		if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
			return enum[0]
		}
		return ""
	case "integer", "number":
		return 0
	case "boolean":
		return false
	}
	return nil
}

func orZero(v any) any {
	if v == nil {
		return 0
	}
	return v
}
