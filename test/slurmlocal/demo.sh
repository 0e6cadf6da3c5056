#!/usr/bin/env bash
# `make demo`: the whole jobscope chain on the local Slurm cluster (make slurm-up slurm-workload
# first; the Makefile does). In the foreground until Ctrl-C, which stops what this script started;
# the cluster keeps running until `make slurm-down`.
#
#   jobscope slurm   127.0.0.1:9850   the cluster exporter, on slurmrestd (JWT)
#   jobscope node    127.0.0.1:9851-9854, one per Slurm node (node1..node4): node1-2 simulate
#                    4 H100s each, seeded by the node name, so their UUIDs are the ones the
#                    jobscope prolog resolved Slurm's GRES indices to (test/slurmlocal/up.sh);
#                    node3-4 have no GPUs. Each reads its node's prolog files.
#   prometheus       127.0.0.1:9890   Debian's, scraping all five with cluster="local" and
#                    honor_labels, evaluating alerts/*.yml
#
# Then it waits until Prometheus has a running job's GPUs joined with their tenant series and
# prints that job: Slurm's view, its GPUs with their utilisation (the documented join), its
# job-level recorded series and its `jobscope report`.
#
# The simulated GPUs do not know which job holds them: each follows its own deterministic curve
# (utilisation swings between 0 and 1 over about 6 minutes, phase by GPU index), busy or not.
#
# JOBSCOPE_DEMO_EXIT=1 (CI: `JOBSCOPE_DEMO_EXIT=1 make demo`, from `make test`) exits 0 right after
# printing the job instead of waiting for Ctrl-C, and non-zero when no job joins within
# JOBSCOPE_DEMO_TIMEOUT seconds [120] or its report fails.
#
# Knobs: JOBSCOPE_BIN [bin/jobscope], DEMO_RUN [test/.run/demo], DEMO_PROM_ADDR [127.0.0.1:9890].
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
[ -s "$BASE/env.sh" ] || die "no $BASE/env.sh: run make slurm-up slurm-workload first"
source "$BASE/env.sh"

ROOT=$(cd ../.. && pwd)
BIN=${JOBSCOPE_BIN:-$ROOT/bin/jobscope}
RUNDIR=${DEMO_RUN:-$ROOT/test/.run/demo}
PROM_ADDR=${DEMO_PROM_ADDR:-127.0.0.1:9890}
SLURM_ADDR=127.0.0.1:9850
PROM=http://$PROM_ADDR
EXIT_AFTER=${JOBSCOPE_DEMO_EXIT:-0}
TIMEOUT=${JOBSCOPE_DEMO_TIMEOUT:-120}
[ -x "$BIN" ] || die "no $BIN: make build"
command -v prometheus >/dev/null || die "no prometheus binary: make deps installs Debian's"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bg NAME CMD...: start CMD in the background, its output in $RUNDIR/NAME.log.
bg() {
  local name=$1; shift
  "$@" >"$RUNDIR/$name.log" 2>&1 </dev/null &
  pids+=($!)
}

rm -rf "$RUNDIR"; mkdir -p "$RUNDIR"

targets=""
for i in "${!NODES[@]}"; do
  n=${NODES[$i]} addr=127.0.0.1:$((9851 + i))
  gpus=(--gpu.backend=none --no-collector.gpu --no-collector.gpu-backend)
  case " ${GPU_NODES[*]} " in *" $n "*) gpus=(--gpu.backend=simulated --gpu.simulated-count=4 --gpu.simulated-seed="$n") ;; esac
  # --node.name: all four agents share this host, whose name is none of the Slurm nodes'.
  bg "node-$n" "$BIN" node --web.listen-address="$addr" "${gpus[@]}" --node.name="$n" \
    --slurm.prolog-dir="$JOBSCOPE_DIR/$n/slurm-jobs" --path.cgroupfs="$JOBSCOPE_DIR/$n/cgroup" \
    --no-collector.infiniband --kubelet.pod-resources-socket= --log.level=warn
  targets+="          - \"$addr\""$'\n'
done
bg slurm "$BIN" slurm --web.listen-address="$SLURM_ADDR" --slurm.source=rest \
  --slurm.rest-url="$JOBSCOPE_SLURMRESTD_URL" --slurm.token-file="$JOBSCOPE_SLURMRESTD_TOKEN_FILE" \
  --slurm.user="$JOBSCOPE_SLURMRESTD_USER" --slurm.poll-interval=5s --log.level=warn

rules=("$ROOT"/alerts/*.yml)
{
  printf 'global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n'
  printf 'rule_files:\n'; printf '  - "%s"\n' "${rules[@]}"
  cat <<YML
scrape_configs:
  # jobscope's labels (node, job_id, ...) are the join keys: honour them (docs/names.md).
  - job_name: jobscope-slurm
    honor_labels: true
    static_configs:
      - targets: ["$SLURM_ADDR"]
        labels: {cluster: local}
  - job_name: jobscope-node
    honor_labels: true
    static_configs:
      - labels: {cluster: local}
        targets:
$targets
YML
} >"$RUNDIR/prometheus.yml"
promtool check config "$RUNDIR/prometheus.yml" >"$RUNDIR/promtool.log" 2>&1 || die "prometheus.yml: $(cat "$RUNDIR/promtool.log")"
bg prometheus prometheus --config.file="$RUNDIR/prometheus.yml" --storage.tsdb.path="$RUNDIR/data" \
  --web.listen-address="$PROM_ADDR" --log.level=warn

# q EXPR: an instant query's series, one "name{labels} value" line each.
q() {
  curl -sfG "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[] |
    (.metric.__name__ // "") + "{" + ([.metric | del(.__name__) | to_entries[] | "\(.key)=\"\(.value)\""] | join(",")) +
    "} " + .value[1]'
}
show() { echo "\$ promql '$1'"; q "$1" | sed 's/^/  /'; }

# The documented join (docs/names.md): the per-GPU value onto each holder, tenant side many.
join='max by (cluster, uuid) (jobscope_gpu_utilization_ratio) * on (cluster, uuid) group_right jobscope_gpu_tenant_info{tenant="slurm"}'
say "waiting for Prometheus to join a running job with its GPUs ($PROM)"
t0=$EPOCHREALTIME
job=""
deadline=$((EPOCHSECONDS + TIMEOUT))
until [ -n "$job" ]; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a demo process exited; logs in $RUNDIR"; done
  [ "$EPOCHSECONDS" -lt "$deadline" ] || die "no job joined with its GPUs after $TIMEOUT s; logs in $RUNDIR"
  # The running GPU job holding the most GPUs (Slurm's view), once its tenant series are in.
  job=$(q "topk(1, count by (job_id) ($join) and on (job_id) max by (job_id) (jobscope_slurm_job_info{state=\"running\"}))" |
    sed -n 's/.*job_id="\([^"]*\)".*/\1/p' | head -n 1) || true
  [ -n "$job" ] || sleep 1
done
elapsed el "$t0"; say "joined after ${el}s: job $job"
echo
show "jobscope_slurm_job_info{job_id=\"$job\"}"
show "jobscope_slurm_job_gpu_allocated{job_id=\"$job\"}"
show "max by (cluster, uuid) (jobscope_gpu_utilization_ratio) * on (cluster, uuid) group_right jobscope_gpu_tenant_info{tenant=\"slurm\",job_id=\"$job\"}"
show "{__name__=~\"job:.+\",job_id=\"$job\"}"
echo "\$ jobscope report --prometheus.url=$PROM $job"
rc=0
"$BIN" report --prometheus.url="$PROM" "$job" || rc=$?
[ "$rc" = 0 ] || echo "(jobscope report exited $rc)"
echo
if [ "$EXIT_AFTER" = 1 ]; then
  [ "$rc" = 0 ] || die "jobscope report $job failed (exit $rc); logs in $RUNDIR"
  say "JOBSCOPE_DEMO_EXIT=1: the demo joined job $job; stopping what it started"
  exit 0
fi
echo "--- Prometheus $PROM (cluster=\"local\"), jobscope slurm http://$SLURM_ADDR/metrics," \
  "jobscope node http://127.0.0.1:9851-9854/metrics (node1-4); logs in $RUNDIR. Ctrl-C stops them;" \
  "make slurm-down stops the cluster."
wait -n "${pids[@]}" || true
die "a demo process exited; logs in $RUNDIR"
