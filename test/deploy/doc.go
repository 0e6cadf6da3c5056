// Package deploy tests the shipped deployment files against the real
// binary: systemd units must verify, and the flags their default files pass
// must be flags the binary accepts.
//
// It builds cmd/jobscope and reads deploy/; its tests import nothing of
// jobscope.
package deploy
