// Package e2e runs the jobscope binary against the real one-host Slurm cluster of
// test/slurmlocal and checks what it exports against what Slurm itself says, read
// independently from scontrol, sinfo and sshare text output (not through jobscope's own
// decoders). The tests skip unless JOBSCOPE_E2E=1; `make test-e2e` sets it after sourcing
// the cluster's env.sh. See docs/testing.md.
package e2e
