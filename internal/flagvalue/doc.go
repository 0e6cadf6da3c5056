// Package flagvalue holds the kingpin flag values jobscope's packages
// register their flags with, so that a bad value is refused while the
// command line is parsed, naming the flag:
//
//	jobscope: error: --slurm.poll-interval: time: invalid duration "abc"
//
// kingpin's own Duration and Enum values report the error alone, and accept
// any duration, zero and negative ones included.
//
// It may import kingpin only: every package that registers flags imports it,
// so it imports nothing of jobscope.
package flagvalue
