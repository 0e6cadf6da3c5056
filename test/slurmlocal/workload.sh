#!/usr/bin/env bash
# Submit a mixed workload to the cluster of up.sh and wait until it is steady, so that tests
# can compare what Slurm says with what jobscope exports. End state (all long jobs sleep 3600):
#   COMPLETED ok-alice, srun-root; FAILED fail-bob (exit 3); CANCELLED cancel-bob
#   node4 DRAINED ("jobscope: simulated maintenance"; drained while idle: sinfo says drained)
#   node2 DRAINING ("jobscope: simulated draining"; drained while mn-root runs on it: sinfo
#         says draining, scontrol MIXED+DRAIN, until its jobs end)
#   RUNNING  gpu: train-alice (2 GPUs, srun step), infer-bob (1 GPU), mn-root (2 nodes x 1 GPU),
#                 array-alice 0-9%2 (2 tasks running)
#            cpu: cpu-alice (2 CPUs, two srun steps), cpu-bob, dep-parent-bob  -> node3 full
#   PENDING  big-alice (4 GPUs on one node: Resources), wide-alice (4 CPUs: Resources),
#            small-bob (Priority), held-alice (JobHeldUser), dep-child-bob (Dependency),
#            array-alice tasks 2-9 (JobArrayTaskLimit)
# A second run on a cluster that already has the workload does nothing.
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh

J=$BASE/jobs
# sb USER SBATCH-ARGS...: submit as USER, print the job id
sb() {
  local u=$1; shift
  runuser -u "$u" -- env SLURM_CONF="$SLURM_CONF" sbatch --parsable --chdir="$J" --output="$J/%x-%j.out" "$@"
}

finished_jobs() {
  sb alice -p cpu -J ok-alice --wrap 'echo hello; sleep 1' >/dev/null
  sb bob -p cpu -J fail-bob --wrap 'echo failing >&2; exit 3' >/dev/null
  runuser -u root -- srun -p cpu -J srun-root -n1 hostname >/dev/null
  scancel "$(sb bob -p cpu -J cancel-bob --hold --wrap 'sleep 3600')"
  wait_for 30 sh -c "[ -z \"\$(squeue -h -t PD,R,CG -o %A -n ok-alice,fail-bob,cancel-bob)\" ]" ||
    die "short jobs did not finish: $(squeue -a)"
  scontrol update nodename=node4 state=drain reason="jobscope: simulated maintenance"
}

running_jobs() {
  sb alice -p gpu -J train-alice -c 2 --mem=4G --gres=gpu:2 --wrap 'srun sleep 3600' >/dev/null
  sb bob -p gpu -J infer-bob -c 1 --mem=2G --gres=gpu:h100:1 --wrap 'sleep 3600' >/dev/null
  sb root -p gpu -J mn-root -N 2 --ntasks-per-node=1 --gres=gpu:1 --wrap 'srun sleep 3600' >/dev/null
  sb alice -p gpu -J array-alice --array=0-9%2 -c 1 --wrap 'sleep 3600' >/dev/null
  sb alice -p cpu -J cpu-alice -n 2 --mem-per-cpu=500 \
    --wrap 'srun -n1 --exact --mem=500 sleep 3600 & srun -n1 --exact --mem=500 sleep 3600 & wait' >/dev/null
  sb bob -p cpu -J cpu-bob -n 1 --wrap 'sleep 3600' >/dev/null
  sb bob -p cpu -J dep-parent-bob -n 1 --wrap 'sleep 3600' >/dev/null
  # 7 jobs, the array counting as 2 running tasks -> 8 running
  wait_for 60 sh -c "[ \$(squeue -h -t R -o %i | wc -l) -ge 8 ]" || die "jobs did not start: $(squeue -a)"
  # srun steps are up (train-alice, mn-root, cpu-alice x2)
  wait_for 30 sh -c "[ \$(squeue -h -s -o %i | grep -cvE '\\.(batch|extern)$') -ge 4 ]" || die "steps did not start: $(squeue -s)"
  # mn-root holds a GPU on each of node1 and node2: draining node2 now leaves it "draining"
  # (its jobs keep running, nothing new starts there) next to node4's "drained"
  scontrol update nodename=node2 state=drain reason="jobscope: simulated draining"
  wait_for 10 sh -c "sinfo -h -N -n node2 -o %T | grep -qx draining" || die "node2 not draining: $(sinfo -N -n node2)"
}

pending_jobs() {
  sb alice -p gpu -J big-alice --gres=gpu:4 --wrap 'sleep 3600' >/dev/null
  sb alice -p cpu -J wide-alice -n 4 --wrap 'sleep 3600' >/dev/null
  sb bob -p cpu -J small-bob -n 1 --wrap 'sleep 3600' >/dev/null
  sb alice -p cpu -J held-alice --hold --wrap 'sleep 60' >/dev/null
  local parent; parent=$(squeue -h -o %A -n dep-parent-bob)
  sb bob -p cpu -J dep-child-bob --dependency=afterok:"$parent" --wrap 'true' >/dev/null
  # steady once the scheduler has given every pending job its reason
  wait_for 30 sh -c "! squeue -h -t PD -o %r | grep -qx None" || say "some pending jobs still have reason None"
}

if [ -n "$(squeue -h -o %A -n train-alice)" ]; then
  # the long jobs end after their 1 h limit: an older workload is no longer the one described above
  [ -n "$(squeue -h -o %A -t R -n train-alice)" ] || die "the workload of an earlier run has ended; run down.sh first"
  say "workload already there"; exit 0
fi
T0=$EPOCHREALTIME
step finished-jobs finished_jobs
step running-jobs running_jobs
step pending-jobs pending_jobs
elapsed el "$T0"; say "workload steady in ${el}s"
squeue -a -o '%.10i %.14j %.6u %.9a %.5P %.9T %.20r %.4C %.12b %N'
