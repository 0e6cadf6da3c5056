#!/bin/bash
# jobscope Slurm epilog: removes the file jobscope-prolog.sh wrote for job
# $SLURM_JOB_ID. A file left behind (epilog not run) is reported by the agent
# as jobscope_slurm_stale_prolog_files and ignored. Never fails the job.
set -u
dir=${JOBSCOPE_PROLOG_DIR:-/run/jobscope/slurm-jobs}
id=${SLURM_JOB_ID:-}
case $id in '' | *[!0-9]*) echo "jobscope-epilog: no numeric SLURM_JOB_ID" >&2; exit 0 ;; esac
rm -f "$dir/$id" || echo "jobscope-epilog: cannot remove $dir/$id" >&2
exit 0
