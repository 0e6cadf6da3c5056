#!/bin/bash
# jobscope Slurm prolog: records which GPUs job $SLURM_JOB_ID holds on this
# node, for `jobscope node` (slurm/nodelocal). One file per job, named by the
# job ID, written atomically (temporary dot file, then rename) and removed by
# jobscope-epilog.sh. It lets the agent attribute a GPU that is held but
# idle, which no process or cgroup v2 file shows.
#
# Install on every compute node (slurm.conf: Prolog=/etc/slurm/prolog.d/*,
# or call it from your prolog). It never fails the job: monitoring must not
# drain nodes, so every error exits 0 after a message on stderr.
#
# Environment (set by slurmd): SLURM_JOB_ID, SLURM_JOB_UID, SLURM_JOB_GPUS
# (Slurm's GRES indices, which follow /dev/nvidiaN minor numbers),
# SLURMD_NODENAME (this slurmd's Slurm NodeName, which the agent exports as
# `node`), and on Slurm 25.11+ CUDA_VISIBLE_DEVICES with GPU UUIDs.
#
# gpu_uuids and gpu_indices are written in the same (Slurm's ascending
# index) order; the agent pairs them position by position only when they
# are equally long, so a UUID that could not be found must leave the UUID
# list shorter, never out of step.
# Overrides (tests): JOBSCOPE_PROLOG_DIR, JOBSCOPE_NVIDIA_PROC.
set -u

dir=${JOBSCOPE_PROLOG_DIR:-/run/jobscope/slurm-jobs}
nvproc=${JOBSCOPE_NVIDIA_PROC:-/proc/driver/nvidia/gpus}
id=${SLURM_JOB_ID:-}

warn() { echo "jobscope-prolog: $*" >&2; exit 0; }

case $id in '' | *[!0-9]*) warn "no numeric SLURM_JOB_ID" ;; esac
mkdir -p "$dir" || warn "cannot create $dir"

# UUIDs straight from CUDA_VISIBLE_DEVICES (25.11+ puts them there).
uuids=()
IFS=, read -ra cvd <<<"${CUDA_VISIBLE_DEVICES:-}"
for d in "${cvd[@]}"; do
	case $d in GPU-* | MIG-*) uuids+=("$d") ;; esac
done

# Slurm's indices, ranges expanded ("0-2,5" -> 0 1 2 5).
indices=()
IFS=, read -ra parts <<<"${SLURM_JOB_GPUS:-}"
for p in "${parts[@]}"; do
	case $p in
	'' ) ;;
	*[!0-9-]* | -* | *- | *-*-*) echo "jobscope-prolog: ignoring '$p' in SLURM_JOB_GPUS" >&2 ;;
	*-*) for ((i = ${p%-*}; i <= ${p#*-}; i++)); do indices+=("$i"); done ;;
	*) indices+=("$p") ;;
	esac
done

# Without UUIDs, translate indices by minor number through the driver's
# /proc files ("Device Minor: 0", "GPU UUID: GPU-…"); the agent can also do
# it, so the indices are written either way.
if [ ${#uuids[@]} -eq 0 ] && [ ${#indices[@]} -gt 0 ] && [ -d "$nvproc" ]; then
	declare -A byminor=()
	for info in "$nvproc"/*/information; do
		[ -r "$info" ] || continue
		minor=$(sed -n 's/^Device Minor:[[:space:]]*//p' "$info")
		uuid=$(sed -n 's/^GPU UUID:[[:space:]]*//p' "$info")
		[ -n "$minor" ] && [ -n "$uuid" ] && byminor[$minor]=$uuid
	done
	for i in "${indices[@]}"; do
		[ -n "${byminor[$i]:-}" ] && uuids+=("${byminor[$i]}")
	done
fi

join() { local IFS=,; echo "$*"; }
tmp="$dir/.$id.$$"
{
	echo "# written by jobscope-prolog.sh"
	echo "job_id=$id"
	echo "uid=${SLURM_JOB_UID:-}"
	echo "start=$(date +%s)"
	echo "node=${SLURMD_NODENAME:-}"
	echo "gpu_uuids=$(join "${uuids[@]}")"
	echo "gpu_indices=$(join "${indices[@]}")"
} >"$tmp" || { rm -f "$tmp"; warn "cannot write $tmp"; }
mv -f "$tmp" "$dir/$id" || { rm -f "$tmp"; warn "cannot rename $tmp"; }
exit 0
