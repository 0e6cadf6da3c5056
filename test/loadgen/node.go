package loadgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// NodeConfig shapes a generated GPU node's host tree (WriteNodeTree): the
// files `jobscope node` reads under --path.procfs, --path.cgroupfs and
// --slurm.prolog-dir, as on a Slurm node with cgroup v2.
type NodeConfig struct {
	// GPUUUIDs are the node's GPUs; job i (from 1) holds GPU i-1 through
	// a prolog file while i <= len(GPUUUIDs). Callers pass the UUIDs the
	// GPU source under test reports (go-nvml's mock, simulated GPUs).
	GPUUUIDs []string
	// Jobs on the node, 1001...: the first len(GPUUUIDs) hold one GPU
	// each, the others are CPU-only. Each has three steps. Default 16.
	Jobs int
	// Procs are GPU processes, PIDs NodeFirstPID...: process p runs on
	// GPU p%len(GPUUUIDs), in the job that holds that GPU. Default 200.
	Procs int
	// JobFilesDir holds a job cgroup's own files (cpu.stat, memory.*),
	// copied into every job's directory; empty: none. Callers pass
	// recorded ones (slurm/nodelocal's testdata).
	JobFilesDir string
}

// NodeFirstPID is the PID of the first GPU process of a generated node.
const NodeFirstPID = 20000

// NodeJobID is the Slurm job ID of job i (from 1) of a generated node.
func NodeJobID(i int) int { return 1000 + i }

// WriteNodeTree writes the node's tree under root: proc/PID/cgroup of
// the GPU processes, the cgroup v2 tree at cgroup/ (the jobs under
// system.slice/slurmstepd.scope, with the usual noise around them: 100
// system services, 20 user sessions) and prolog/JOBID files. Point
// --path.procfs at root/proc, --path.cgroupfs at root/cgroup,
// --path.rootfs at root and --slurm.prolog-dir at /prolog.
func WriteNodeTree(root string, cfg NodeConfig) error {
	if cfg.Jobs == 0 {
		cfg.Jobs = 16
	}
	if cfg.Procs == 0 {
		cfg.Procs = 200
	}
	if len(cfg.GPUUUIDs) == 0 && cfg.Procs > 0 {
		return errors.New("loadgen: GPU processes need GPUs (NodeConfig.GPUUUIDs)")
	}
	var jobFiles []os.DirEntry
	if cfg.JobFilesDir != "" {
		var err error
		if jobFiles, err = os.ReadDir(cfg.JobFilesDir); err != nil {
			return err
		}
	}
	var err error
	write := func(p, content string) {
		if err != nil {
			return
		}
		p = filepath.Join(root, p)
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
	}
	write("cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
	for i := range 100 {
		write(fmt.Sprintf("cgroup/system.slice/service-%d.service/cgroup.procs", i), "")
	}
	for i := range 20 {
		write(fmt.Sprintf("cgroup/user.slice/user-%d.slice/session-%d.scope/cgroup.procs", 1000+i, i), "")
	}
	const scope = "system.slice/slurmstepd.scope"
	write("cgroup/"+scope+"/system/cgroup.procs", "100\n")
	for j := 1; j <= cfg.Jobs; j++ {
		job := NodeJobID(j)
		for _, step := range []string{"step_extern", "step_batch", "step_0"} {
			write(fmt.Sprintf("cgroup/%s/job_%d/%s/slurm/cgroup.procs", scope, job, step), "")
			write(fmt.Sprintf("cgroup/%s/job_%d/%s/user/task_0/cgroup.procs", scope, job, step), "")
		}
		for _, f := range jobFiles {
			if !f.Type().IsRegular() {
				continue
			}
			b, rerr := os.ReadFile(filepath.Join(cfg.JobFilesDir, f.Name()))
			if rerr != nil {
				return rerr
			}
			write(fmt.Sprintf("cgroup/%s/job_%d/%s", scope, job, f.Name()), string(b))
		}
		if j <= len(cfg.GPUUUIDs) {
			write(fmt.Sprintf("prolog/%d", job), fmt.Sprintf("job_id=%d\nuid=1000\nstart=1764400000\ngpu_uuids=%s\ngpu_indices=%d\n",
				job, cfg.GPUUUIDs[j-1], j-1))
		}
	}
	for p := range cfg.Procs {
		job := NodeJobID(p%len(cfg.GPUUUIDs) + 1)
		write(fmt.Sprintf("proc/%d/cgroup", NodeFirstPID+p), fmt.Sprintf("0::/%s/job_%d/step_0/user/task_0\n", scope, job))
	}
	return err
}
