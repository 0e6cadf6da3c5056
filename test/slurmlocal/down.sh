#!/usr/bin/env bash
# Stop everything up.sh started, by the pids recorded under $BASE/pid (never by process name:
# another cluster may run on this host), then remove $BASE.
#   SLURMLOCAL_KEEP=1  keep $BASE (logs, state) for a look afterwards
set -uo pipefail
cd "$(dirname "$0")"
source ./common.sh

# Jobs first, while slurmctld and slurmd are up: a slurmstepd outlives a killed slurmd and
# then ignores SIGTERM for a long time. %A (not %i): `scancel 18_[0-9%2]` is refused.
cancel_jobs() {
  alive slurmctld || return 0
  local ids; ids=$(squeue -h -o %A -t PD,R,S,CG,CF | sort -u | tr '\n' ' ')
  [ -n "${ids// /}" ] || return 0
  # shellcheck disable=SC2086
  scancel $ids
  wait_for 30 sh -c '[ -z "$(squeue -h -t R,CG,S -o %A)" ]' || say "jobs still running after 30 s"
}

stop_daemons() {
  local n names=(slurmrestd-jwt slurmrestd-local)
  for n in "${NODES[@]}"; do names+=("slurmd-$n"); done
  step stop-slurmrestd-slurmd stop "${names[@]}"
  step stop-slurmctld stop slurmctld
  step stop-slurmdbd stop slurmdbd
  step stop-mariadbd stop mariadbd
  # munged is shared by every cluster on the host: stop it only if up.sh started it and no
  # Slurm daemon (ours are gone by now) still runs.
  if alive munged; then
    if other_slurm_daemons; then
      say "munged left running: other Slurm daemons on this host use it"; rm -f "$PIDS/munged.pid"
    else
      step stop-munged stop munged
    fi
  fi
}

# other_slurm_daemons: does any Slurm daemon run on the host? One pgrep per name: pgrep matches
# the 15-character process name and warns about (and never matches) a longer pattern, which an
# alternation of the four names is.
other_slurm_daemons() {
  local d
  for d in slurmctld slurmd slurmdbd slurmrestd; do
    pgrep -x "$d" >/dev/null && return 0
  done
  return 1
}

report_leftovers() {
  # anything that still runs from this BASE (an orphaned slurmstepd, a job) is reported, not killed
  local left; left=$(ps -eo pid,args | grep -F "$BASE" | grep -v grep)
  [ -z "$left" ] || { say "still running under $BASE:"; echo "$left"; }
}

T0=$EPOCHREALTIME
[ -d "$BASE" ] || { say "nothing at $BASE"; exit 0; }
step cancel-jobs cancel_jobs
stop_daemons
report_leftovers
if [ "${SLURMLOCAL_KEEP:-0}" = 1 ]; then say "kept $BASE"; else rm -rf "$BASE"; fi
elapsed el "$T0"; say "down in ${el}s"
