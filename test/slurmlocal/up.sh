#!/usr/bin/env bash
# Bring up a one-host Slurm 22.05 cluster (Debian 12 packages) on loopback for jobscope's tests:
#   munged (the system one, started if absent), MariaDB (private datadir) + slurmdbd with an account tree, slurmctld,
#   4 slurmd (node1-2: 8 CPUs + 4 fake h100 GPUs each; node3-4: 4 CPUs),
#   slurmrestd with rest_auth/jwt on 127.0.0.1:$REST_PORT, and a second slurmrestd with
#   rest_auth/local on the unix socket $BASE/run/slurmrestd.sock.
# jobscope's own prolog and epilog (deploy/slurm) run on every node: each records its jobs'
# GPUs in $BASE/jobscope/NODE/slurm-jobs, resolving GRES indices to the UUIDs of
# $BASE/jobscope/NODE/nvidia-gpus, a fake /proc/driver/nvidia/gpus tree with the GPUs that
# `jobscope node --gpu.backend=simulated --gpu.simulated-seed=NODE` reports (demo.sh, test/e2e);
# $BASE/jobscope/NODE/cgroup is that node agent's (empty) cgroup root.
# Installs missing packages first (apt-get, as root). Idempotent: only what is not running
# is started, so a second run on a running cluster does nothing.
# Then: source $BASE/env.sh (SLURM_CONF, JOBSCOPE_SLURMRESTD_{URL,TOKEN_FILE,SOCKET,USER}, ...).
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh

# prometheus (promtool) and prometheus-node-exporter are not needed by the cluster but by the
# unit tests (promtool check metrics on golden pages, node_exporter side by side with the
# InfiniBand collector), nor is chromium (the HTML report's browser test): `up.sh --install-only` installs them before those tests run.
PKGS=(munge slurmctld slurmd slurmrestd slurm-client slurm-wlm-basic-plugins slurm-wlm-jwt-plugin
      slurmdbd mariadb-server prometheus prometheus-node-exporter jq curl procps
      chromium)

install_packages() {
  local missing p
  mapfile -t missing < <(
    for p in "${PKGS[@]}"; do echo "$p"; done |
      grep -vxF -f <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null | awk '$2 == "installed" { print $1 }'))
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "${SLURMLOCAL_INSTALL:-1}" = 1 ] || die "missing packages: ${missing[*]} (SLURMLOCAL_INSTALL=0)"
  say "installing ${missing[*]}"
  # Package scripts must not start the Debian-configured services: we run our own instances.
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; added=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$added" = 0 ] || rm -f "$policy"
}

prepare() {
  local u
  id "$SLURM_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SLURM_USER"
  id "$REST_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$REST_USER"
  for u in alice bob; do id "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"; done

  mkdir -p "$ETC" "$PIDS" "$LOGS" "$RUN" "$BASE/state" "$BASE/dev" "$BASE/jobs" "$BASE/mysql"
  for n in "${NODES[@]}"; do mkdir -p "$BASE/spool/$n"; done
  chmod 755 "$BASE"
  chown "$REST_USER": "$RUN"   # slurmrestd binds its unix socket after dropping to $REST_USER
  chmod 1777 "$BASE/jobs"
  chown "$SLURM_USER": "$BASE/state" "$LOGS" "$PIDS"
  chown mysql:mysql "$BASE/mysql"   # holds socket, pid and error log: must be writable by mysql

  # Fake GPUs: gres.conf needs File= to exist as a device; major 195 like /dev/nvidiaN.
  for g in 0 1 2 3; do [ -e "$BASE/dev/nvidia$g" ] || mknod -m 0666 "$BASE/dev/nvidia$g" c 195 "$g"; done

  write_jobscope_node_files

  [ -s "$ETC/jwt_hs256.key" ] || dd if=/dev/urandom of="$ETC/jwt_hs256.key" bs=32 count=1 status=none
  chown "$SLURM_USER": "$ETC/jwt_hs256.key"; chmod 0600 "$ETC/jwt_hs256.key"
  write_configs
}

# The jobscope prolog and epilog, and per node the directory the prolog writes its job files
# to and the fake NVIDIA /proc tree it resolves UUIDs through. The 4 slurmd share one host,
# so a wrapper picks the node's directories by SLURMD_NODENAME (slurmd sets it in the
# prolog's environment, which it builds from scratch: slurmd's own environment is not passed).
write_jobscope_node_files() {
  local n kind
  # cgroup/ is an empty cgroup v2 root for the node's agent: the slurmds share the host's
  # real tree, so no agent could tell its own node's job cgroups from the others'; the prolog
  # files alone say which jobs hold which GPUs here (none is stale without a cgroup view).
  for n in "${NODES[@]}"; do
    mkdir -p "$JOBSCOPE_DIR/$n/slurm-jobs" "$JOBSCOPE_DIR/$n/cgroup"
    : >"$JOBSCOPE_DIR/$n/cgroup/cgroup.controllers"
  done
  # The UUIDs come from jobscope's simulated backend itself (go run: one source of truth).
  if [ ! -e "$JOBSCOPE_DIR/${GPU_NODES[0]}/nvidia-gpus" ]; then
    (cd ../.. && "${GO:-go}" run ./test/slurmlocal/fakegpus -dir "$JOBSCOPE_DIR" -count 4 "${GPU_NODES[@]}") ||
      die "fakegpus: cannot write the fake NVIDIA /proc trees"
  fi
  for kind in prolog epilog; do
    install -m 0755 "../../deploy/slurm/jobscope-$kind.sh" "$ETC/jobscope-$kind.sh"
    cat >"$ETC/jobscope-$kind" <<WRAP
#!/bin/bash
# generated by test/slurmlocal/up.sh: this node's directories, then jobscope's $kind
node=\${SLURMD_NODENAME:-unknown}
export JOBSCOPE_PROLOG_DIR=$JOBSCOPE_DIR/\$node/slurm-jobs
export JOBSCOPE_NVIDIA_PROC=$JOBSCOPE_DIR/\$node/nvidia-gpus
exec /bin/bash $ETC/jobscope-$kind.sh
WRAP
    chmod 0755 "$ETC/jobscope-$kind"
  done
}

write_configs() {
  local host; host=$(hostname -s)
  local p1=$SLURMD_PORT
  cat >"$ETC/slurm.conf" <<CONF
# generated by test/slurmlocal/up.sh
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=$SLURM_USER
SlurmctldPort=$CTLD_PORT
SlurmdPort=$((p1 - 1))
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$ETC/jwt_hs256.key
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool/%n
SlurmctldPidFile=$PIDS/slurmctld.pid
SlurmdPidFile=$PIDS/slurmd-%n.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=2,bf_continue
PriorityType=priority/multifactor
PriorityCalcPeriod=1
PriorityWeightAge=1000
PriorityWeightFairshare=10000
PriorityWeightJobSize=1000
PriorityWeightPartition=1000
PriorityWeightTRES=CPU=1000,Mem=1,GRES/gpu=5000
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu,gres/gpu:h100
JobCompType=jobcomp/none
# jobscope's prolog records each job's GPUs per node; Alloc runs it on every node of the job
# when it is allocated (not at its first step there), so a batch job's other nodes have it too.
Prolog=$ETC/jobscope-prolog
Epilog=$ETC/jobscope-epilog
PrologFlags=Alloc
ReturnToService=2
MinJobAge=86400
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=2
NodeName=node[1-2] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$p1-$((p1 + 1))] CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=16000 Gres=gpu:h100:4 Feature=gpu,h100 State=UNKNOWN
NodeName=node[3-4] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$((p1 + 2))-$((p1 + 3))] CPUs=4 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=8000 Feature=cpu State=UNKNOWN
PartitionName=cpu Nodes=node[3-4] Default=YES DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP PriorityJobFactor=1
PartitionName=gpu Nodes=node[1-2] DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP PriorityJobFactor=2
CONF
  cat >"$ETC/gres.conf" <<CONF
NodeName=node[1-2] Name=gpu Type=h100 File=$BASE/dev/nvidia[0-3]
CONF
  cat >"$ETC/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$ETC/jwt_hs256.key
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=$SLURM_USER
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
LogFile=$LOGS/slurmdbd.log
PidFile=$PIDS/slurmdbd.pid
DebugLevel=info
CONF
  # slurmdbd refuses a slurmdbd.conf that is not 0600 and owned by SlurmUser
  chown "$SLURM_USER": "$ETC/slurmdbd.conf"; chmod 0600 "$ETC/slurmdbd.conf"
}

# munged: the system one (default socket). Slurm 22.05 does not honour AuthInfo=socket= on
# its slurmdbd connections, so a private munged is not possible; several clusters on one host
# share it. It is started (and later stopped) only when nothing answers on the socket.
munge_ok() { munge -n </dev/null | unmunge; }
start_munged() {
  munge_ok >/dev/null 2>&1 && return 0
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key; chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  wait_for 10 munge_ok || die "munged did not start: $(tail -5 /var/log/munge/munged.log)"
  cp /run/munge/munged.pid "$PIDS/munged.pid"
}

db() { mariadb --socket="$BASE/mysql/mysqld.sock" -uroot "$@"; }
start_mariadb() {
  alive mariadbd && return 0
  [ -d "$BASE/mysql/data/mysql" ] ||
    mariadb-install-db --user=mysql --datadir="$BASE/mysql/data" --skip-test-db >"$LOGS/mariadb-install-db.log" 2>&1
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$BASE/mysql/data" \
    --socket="$BASE/mysql/mysqld.sock" --pid-file="$BASE/mysql/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --log-error="$BASE/mysql/mariadb.err" \
    --innodb-buffer-pool-size=64M --skip-log-bin >/dev/null 2>&1 </dev/null &
  echo $! >"$PIDS/mariadbd.pid"
  wait_alive mariadbd 60 db -e 'select 1' || die "mariadbd: $(tail -20 "$BASE/mysql/mariadb.err")"
  db -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
         CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

start_slurmdbd() {
  alive slurmdbd && return 0
  slurmdbd   # daemonizes; finds slurmdbd.conf next to $SLURM_CONF
  wait_for 60 sacctmgr -n show cluster || die "slurmdbd: $(tail -20 "$LOGS/slurmdbd.log")"
}

# The account tree is loaded before slurmctld starts (one sacctmgr call, which also adds the
# cluster), so nothing waits for the cluster to register. physics (fairshare 60) and
# chemistry (40); alice in physics, bob in chemistry, root in physics too.
make_accounts() {
  [ -n "$(sacctmgr -n -P show account physics format=account)" ] && return 0
  cat >"$ETC/accounts.cfg" <<CFG
Cluster - '$CLUSTER'
Parent - 'root'
Account - 'physics':Description='physics':Organization='jobscope':Fairshare=60
Account - 'chemistry':Description='chemistry':Organization='jobscope':Fairshare=40
Parent - 'physics'
User - 'alice':DefaultAccount='physics':Fairshare=2
User - 'root':DefaultAccount='root':Fairshare=1
Parent - 'chemistry'
User - 'bob':DefaultAccount='chemistry':Fairshare=1
CFG
  sacctmgr -i load "$ETC/accounts.cfg" >"$LOGS/sacctmgr-load.log" 2>&1 || die "sacctmgr load: $(cat "$LOGS/sacctmgr-load.log")"
}

start_slurmctld() {
  alive slurmctld && return 0
  slurmctld -i   # daemonizes; -i: start even where state files are missing
  wait_for 30 sh -c 'scontrol ping | grep -q UP' || die "slurmctld: $(tail -30 "$LOGS/slurmctld.log")"
}

all_nodes_up() { [ "$(sinfo -h -N -o '%N %T' | grep -cvE 'down|unk|not_resp|inval')" -ge ${#NODES[@]} ]; }
start_slurmds() {
  local n started=0
  for n in "${NODES[@]}"; do
    alive "slurmd-$n" && continue
    slurmd -N "$n"; started=1
  done
  [ "$started" = 0 ] && return 0
  wait_for 60 all_nodes_up || { sinfo -N -l; die "slurmd: $(tail -20 "$LOGS/slurmd-node1.log")"; }
}

# start_restd jwt|local: slurmrestd does not daemonize; background it and record its pid.
# It refuses to run as root, so it binds as root and then setuids (-u) to $REST_USER.
start_restd() {
  local kind=$1 name=slurmrestd-$1
  alive "$name" && return 0
  touch "$LOGS/$name.log"
  if [ "$kind" = jwt ]; then
    # rest_auth/jwt in 22.05 rejects every token unless SLURM_JWT=daemon is in its environment
    SLURM_JWT=daemon setsid slurmrestd -f "$SLURM_CONF" -a rest_auth/jwt -s "$REST_PLUGINS" -u "$REST_USER" \
      "127.0.0.1:$REST_PORT" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    wait_alive "$name" 30 curl -sf -o /dev/null -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $(cat "$TOKEN_FILE")" \
      "http://127.0.0.1:$REST_PORT/slurm/v0.0.38/ping" || die "$name: $(tail -20 "$LOGS/$name.log")"
  else
    # rest_auth/local only works on a unix socket (over TCP: 401 "Authentication does not apply")
    rm -f "$REST_SOCKET"
    setsid slurmrestd -f "$SLURM_CONF" -a rest_auth/local -s "$REST_PLUGINS" -u "$REST_USER" \
      "unix:$REST_SOCKET" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    wait_alive "$name" 30 curl -sf -o /dev/null --unix-socket "$REST_SOCKET" http://localhost/slurm/v0.0.38/ping ||
      die "$name: $(tail -20 "$LOGS/$name.log")"
  fi
}

# The exporter's token: root's, one day, mode 0600 (it is never put on a command line).
write_token() {
  [ -s "$TOKEN_FILE" ] && [ -z "$(find "$TOKEN_FILE" -mmin +720)" ] && return 0
  (umask 077; scontrol token username=root lifespan=86400 | sed 's/^SLURM_JWT=//' >"$TOKEN_FILE.tmp")
  mv "$TOKEN_FILE.tmp" "$TOKEN_FILE"
}

write_env() {
  cat >"$BASE/env.sh" <<ENV
# generated by test/slurmlocal/up.sh; source it
export SLURM_CONF=$SLURM_CONF
export JOBSCOPE_SLURM_CONF=$SLURM_CONF
export JOBSCOPE_SLURMLOCAL_BASE=$BASE
export JOBSCOPE_SLURMRESTD_URL=http://127.0.0.1:$REST_PORT
export JOBSCOPE_SLURMRESTD_TOKEN_FILE=$TOKEN_FILE
export JOBSCOPE_SLURMRESTD_USER=root
export JOBSCOPE_SLURMRESTD_SOCKET=$REST_SOCKET
ENV
}

T0=$EPOCHREALTIME
step install install_packages
if [ "${1:-}" = "--install-only" ]; then exit 0; fi
step prepare prepare
step munged start_munged
step mariadbd start_mariadb
step slurmdbd start_slurmdbd
step accounts make_accounts
step slurmctld start_slurmctld
step slurmd start_slurmds
step token write_token
step slurmrestd-jwt start_restd jwt
step slurmrestd-local start_restd local
step env write_env
elapsed el "$T0"; say "cluster up in ${el}s; source $BASE/env.sh"
sinfo
