# shellcheck shell=bash
# Shared settings and helpers for the local Slurm harness (sourced by up.sh, workload.sh
# and down.sh). Everything the harness starts lives under $SLURMLOCAL_BASE and is
# recorded in $SLURMLOCAL_BASE/pid/*.pid; nothing is ever stopped by name, so another
# cluster on the same host (other BASE, other ports) is left alone.
#
# Knobs (environment, defaults in brackets):
#   SLURMLOCAL_BASE        [/srv/jobscope-slurm]
#   SLURMLOCAL_CTLD_PORT   [6817]   slurmctld
#   SLURMLOCAL_SLURMD_PORT [6831]   first slurmd; node N listens on SLURMD_PORT+N-1
#   SLURMLOCAL_REST_PORT   [6820]   slurmrestd (JWT) on 127.0.0.1
#   SLURMLOCAL_DBD_PORT    [6819]   slurmdbd
#   SLURMLOCAL_DB_PORT     [3307]   MariaDB on 127.0.0.1 (private datadir)
#   SLURMLOCAL_INSTALL     [1]      0 = never run apt-get (fail if something is missing)

BASE=${SLURMLOCAL_BASE:-/srv/jobscope-slurm}
CTLD_PORT=${SLURMLOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURMLOCAL_SLURMD_PORT:-6831}
REST_PORT=${SLURMLOCAL_REST_PORT:-6820}
DBD_PORT=${SLURMLOCAL_DBD_PORT:-6819}
DB_PORT=${SLURMLOCAL_DB_PORT:-3307}

CLUSTER=jobscope
GPU_NODES=(node1 node2)   # 8 CPUs, 16000 MB, 4 fake h100 each, partition gpu
CPU_NODES=(node3 node4)   # 4 CPUs, 8000 MB, partition cpu (default)
NODES=("${GPU_NODES[@]}" "${CPU_NODES[@]}")
SLURM_USER=slurm          # SlurmUser: owns state, logs, JWT key, slurmdbd.conf
REST_USER=slurmrest       # slurmrestd refuses to run as root; it setuids to this user
REST_PLUGINS=openapi/v0.0.36,openapi/v0.0.37,openapi/v0.0.38,openapi/dbv0.0.36,openapi/dbv0.0.37,openapi/dbv0.0.38

ETC=$BASE/etc PIDS=$BASE/pid LOGS=$BASE/log RUN=$BASE/run
REST_SOCKET=$RUN/slurmrestd.sock
JOBSCOPE_DIR=$BASE/jobscope   # per node: slurm-jobs (the prolog's files), nvidia-gpus (fake /proc tree)
TOKEN_FILE=$BASE/jobscope.token
export SLURM_CONF=$ETC/slurm.conf

# Timing and waiting use bash's clock variables: forks are slow on a busy 2-core VM.
# elapsed VAR T0: seconds since T0 (an $EPOCHREALTIME), as 1.23, into VAR.
elapsed() {
  local -n _out=$1
  local us=$(( ${EPOCHREALTIME/./} - ${2/./} ))
  printf -v _out '%d.%02d' $((us / 1000000)) $((us / 10000 % 100))
}
say() { printf '[slurmlocal %(%T)T] %s\n' -1 "$*"; }
die() { echo "[slurmlocal] ERROR: $*" >&2; exit 1; }

# step NAME CMD...: run one step, print and record how long it took.
step() {
  local name=$1 t0=$EPOCHREALTIME rc=0 el; shift
  "$@" || rc=$?
  elapsed el "$t0"
  say "$name: ${el}s"
  [ -d "$LOGS" ] && printf '%(%FT%T)T\t%s\t%s\n' -1 "$name" "$el" >>"$LOGS/timings.tsv"
  return "$rc"
}

# wait_for TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((EPOCHSECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$EPOCHSECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# wait_alive NAME TIMEOUT_S CMD...: like wait_for, but gives up as soon as NAME's process exits.
wait_alive() {
  local name=$1 deadline=$((EPOCHSECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$name" || return 1
    [ "$EPOCHSECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# pid_of NAME: the pid recorded for NAME (slurmctld, slurmd-node1, slurmrestd-jwt, ...), but
# only while that pid still runs that program (NAME up to the first "-"): a stale pid file,
# e.g. after a reboot, must never make us skip a start or signal someone else's process.
pid_of() {
  local f=$PIDS/$1.pid p argv0
  [ -s "$f" ] || return 1
  p=$(cat "$f")
  argv0=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | head -n 1) || return 1
  [ "${argv0##*/}" = "${1%%-*}" ] || return 1
  echo "$p"
}
alive() { pid_of "$1" >/dev/null; }

# stop NAME...: SIGTERM the recorded pids together, wait up to 15 s, SIGKILL what is left.
stop() {
  local n p pids=()
  for n in "$@"; do
    if p=$(pid_of "$n") && kill "$p" 2>/dev/null; then pids+=("$p"); fi
    rm -f "$PIDS/$n.pid"
  done
  local deadline=$((EPOCHSECONDS + 15))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$EPOCHSECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then say "pid $p ignored SIGTERM, SIGKILL"; kill -9 "$p" 2>/dev/null; fi
  done
}

[ "$(id -u)" -eq 0 ] || die "run as root (it starts daemons as other users)"
