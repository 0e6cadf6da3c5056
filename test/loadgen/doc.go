// Package loadgen writes synthetic, schema-faithful slurmrestd v0.0.44
// response bodies (jobs, nodes, partitions, diag) for benchmarks and load
// tests of large clusters. Output is deterministic for a given Config.
//
// The shapes follow the v0.0.44 OpenAPI schema and a recorded Slurm 24.05/
// 25.x job (shared/fixtures/slurm/nebius-soperator): every job_info and node
// field is present, numbers that v0.0.44 wraps are {set,infinite,number}
// objects, and a running job carries per-core job_resources for every node it
// holds, which is what makes real payloads 8-32 KB per running job.
//
// WriteNodeTree writes a GPU node's host tree (/proc, cgroup v2 with Slurm
// jobs, prolog files) for the node agent's benchmarks.
//
// It imports nothing of jobscope; the slurm/openapi and slurm/rest tests and
// the collectors' benchmarks import it.
package loadgen
