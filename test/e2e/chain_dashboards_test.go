package e2e

import (
	"strings"
	"testing"
	"time"

	"jobscope/dashboards"
	"jobscope/test/promtest"
)

// Why a dashboard query cannot return data on the local cluster (real Slurm 22.05 on one
// host, simulated GPUs, no HCA, no Kubernetes).
const (
	noHCA    = "needs an InfiniBand port: the local cluster's hosts have no HCA (its agents run with --no-collector.infiniband)"
	noJobIB  = "needs per-job InfiniBand traffic: no HCA on the local cluster"
	noCgroup = "needs the job's cgroup: the local cluster's agents read an empty cgroup tree (its slurmds share the host's, so no agent could tell its node's jobs apart; test/slurmlocal/up.sh)"
	noK8s    = "needs Kubernetes pods holding GPUs (the kubelet's pod-resources socket): the local cluster has no Kubernetes"
	noShares = "fairshare: Slurm 22.05's REST has no shares endpoint (v0.0.41 and later), so the exporter on slurmrestd exports no shares"
)

// chainNoData names the dashboard queries that cannot return data on the local cluster,
// and why. A query listed here that does return data fails the test, so the list only
// shrinks.
var chainNoData = map[string]string{
	"jobscope-infiniband/1/A": noHCA, "jobscope-infiniband/2/A": noHCA, "jobscope-infiniband/3/A": noHCA,
	"jobscope-infiniband/4/A": noHCA, "jobscope-infiniband/5/A": noHCA, "jobscope-infiniband/6/A": noJobIB,
	"jobscope-infiniband/10/A": noHCA, "jobscope-infiniband/11/A": noHCA, "jobscope-infiniband/12/A": noHCA,
	"jobscope-infiniband/12/B": noHCA, "jobscope-infiniband/12/C": noHCA, "jobscope-infiniband/12/D": noHCA,
	"jobscope-job/30/A": noJobIB, "jobscope-job/30/B": noJobIB,
	"jobscope-job/41/A": noJobIB + " (on two nodes of one job)",
	"jobscope-job/20/A": noCgroup, "jobscope-job/20/B": noCgroup, "jobscope-job/21/A": noCgroup,
	"jobscope-job/21/B": noCgroup, "jobscope-job/21/C": noCgroup, "jobscope-job/22/A": noCgroup,
	"jobscope-tenants var k8s_namespace": noK8s,
	"jobscope-tenants/1/A":               noK8s, "jobscope-tenants/1/B": noK8s, "jobscope-tenants/1/C": noK8s,
	"jobscope-tenants/2/A": noK8s, "jobscope-tenants/2/B": noK8s, "jobscope-tenants/3/A": noK8s,
	"jobscope-tenants/10/A": noK8s, "jobscope-tenants/10/B": noK8s, "jobscope-tenants/11/A": noK8s,
	"jobscope-tenants/12/A": noK8s, "jobscope-tenants/20/A": noK8s, "jobscope-tenants/21/A": noK8s,
	"jobscope-gpu-health/6/A": "needs the DCGM backend's last XID (DCGM_FI_DEV_XID_ERRORS): the local cluster's agents simulate their GPUs",
	"jobscope-overview/7/A":   "needs a firing alert: those without a for: fire on GPU faults and counter rises the simulated GPUs never have; the others' for: (2m and longer) outlasts the test",
	"jobscope-scheduler/8/D":  "backfill's last depth: Slurm 22.05's REST (data_parser v0.0.38) does not report bf_last_depth, so the exporter leaves it out",
	"jobscope-scheduler/8/E":  "backfill's last depth tried: Slurm 22.05's REST (data_parser v0.0.38) does not report bf_last_depth_try",
	"jobscope-usage/13/A":     noShares, "jobscope-usage/13/B": noShares,
}

// checkDashboards runs every variable and panel query of every dashboard on the chain's
// Prometheus, with $cluster=local, $job_id each running GPU job in turn and $node the GPU
// nodes, and fails on one that returns nothing unless chainNoData says why.
func checkDashboards(t *testing.T, srv *promtest.Server, gpuJobs []string) {
	t.Helper()
	vals := dashboards.Values{
		// Prometheus scrapes and evaluates every second: a 15 s rate window holds many
		// samples; $__range is the dashboards' default 6 h.
		Fixed: map[string]string{"node": "node1|node2", "partition": ".*", "k8s_namespace": ".*",
			"__rate_interval": "15s", "__range": "6h", "__interval": "15s"},
		Choices: map[string][]string{"cluster": {"local"}, "job_id": gpuJobs},
	}
	checks := dashboards.Checks(vals)
	for _, c := range checks {
		for _, e := range c.Exprs {
			if m := dashboards.VarRef.FindString(e); m != "" {
				t.Fatalf("%s: variable %s left unsubstituted in %s", c.Key, m, e)
			}
		}
	}

	byKey := make(map[string][]string, len(checks))
	for _, c := range checks {
		byKey[c.Key] = c.Exprs
	}
	start := time.Now()
	srv.AwaitData(t, byKey, chainNoData, 90*time.Second)
	t.Logf("%d dashboard queries (jobs %s) run in %.1fs", len(checks), strings.Join(gpuJobs, ", "), time.Since(start).Seconds())
}
