// Package memlimit sets the Go runtime's soft memory limit
// (runtime/debug.SetMemoryLimit) from --runtime.memory-limit.
//
// Without a limit the runtime lets the heap grow to twice what is live
// (GOGC=100) before collecting: at 100k jobs `jobscope slurm` peaks at
// about 215 MB live and rose to 500-600 MB resident. With a limit, the runtime
// collects more often as the heap nears it, and never fails the process:
// when the live heap alone exceeds the limit it only spends more CPU on GC
// (capped by the runtime at about half of GOMAXPROCS), so a limit set too
// low costs CPU, never an OOM kill. That is why a default is set at all.
//
// The default ("auto") is, in this order: GOMEMLIMIT when set in the
// environment (the runtime has already applied it); 90 % of the cgroup's
// memory limit when the process runs under one (a container, a systemd
// unit with MemoryMax), leaving room for what the Go runtime does not
// account (the binary's text, C libraries); else DefaultLimit.
package memlimit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/alecthomas/units"

	"jobscope/internal/flagvalue"
)

// DefaultLimit is the limit without GOMEMLIMIT or a cgroup limit. At 10k
// nodes and 100k jobs `jobscope slurm` keeps about 64 MiB live between
// polls, about 125 MiB at the end of a poll (the previous and the new jobs)
// and up to about 170 MiB while it builds the page after one
// (docs/performance.md). The heap fills up to the limit in every poll, and
// the binary's file pages (about 21 MiB) come on top of it: at 208 MiB the
// peak RSS was 224-226 MiB, at 192 MiB 208-215 MiB, for 5-8 % more CPU,
// against a target of 250 MB (238 MiB) that a busier host's GC lag eats
// into. A larger cluster whose live peak exceeds it makes the GC work
// harder during the peak, not fail; raise the flag for it.
const DefaultLimit = 192 * units.MiB

// cgroupShare is the part of a cgroup memory limit given to the Go heap.
const cgroupShare = 0.9

// Flags is --runtime.memory-limit.
type Flags struct {
	value *limitValue
}

// limitValue is "auto", "0" (no limit) or a size such as 256MiB or 1GB
// (units.ParseBase2Bytes: KB and KiB both mean 1024).
type limitValue struct {
	auto  bool
	bytes int64
}

func (v *limitValue) Set(s string) error {
	if s == "auto" {
		v.auto, v.bytes = true, 0
		return nil
	}
	if s == "0" {
		v.auto, v.bytes = false, 0
		return nil
	}
	b, err := units.ParseBase2Bytes(s)
	if err != nil {
		return fmt.Errorf("%q: want auto, 0 or a size such as 256MiB", s)
	}
	if b <= 0 {
		return fmt.Errorf("%q: must be positive (0 means no limit)", s)
	}
	v.auto, v.bytes = false, int64(b)
	return nil
}

func (v *limitValue) String() string {
	switch {
	case v.auto:
		return "auto"
	case v.bytes == 0:
		return "0"
	}
	return units.Base2Bytes(v.bytes).String()
}

// AddFlags registers --runtime.memory-limit.
func AddFlags(g flagvalue.Group) *Flags {
	v := &limitValue{auto: true}
	flagvalue.Named(g.Flag("runtime.memory-limit",
		"Soft memory limit of the Go runtime (it collects garbage harder near it; never fails the process): "+
			"a size (256MiB, 1GiB), 0 for none, or auto: GOMEMLIMIT if set, else 90% of the cgroup's memory limit, else "+
			DefaultLimit.String()+".").Default("auto"), v)
	return &Flags{value: v}
}

// Apply sets the runtime's memory limit as the flag says and logs it; it
// returns the limit in bytes (math.MaxInt64: none).
func (f *Flags) Apply(logger *slog.Logger) int64 {
	limit, source := f.limit(os.Getenv("GOMEMLIMIT"), cgroupLimit)
	if source == "GOMEMLIMIT" {
		limit = debug.SetMemoryLimit(-1) // the runtime parsed it
	} else {
		debug.SetMemoryLimit(limit)
	}
	if limit == math.MaxInt64 {
		logger.Info("no Go memory limit", "from", source)
	} else {
		logger.Info("Go memory limit", "limit", units.Base2Bytes(limit).String(), "from", source)
	}
	return limit
}

// limit decides the limit and says where it came from.
func (f *Flags) limit(goMemLimit string, cgroup func() (int64, error)) (int64, string) {
	if !f.value.auto {
		if f.value.bytes == 0 {
			return math.MaxInt64, "--runtime.memory-limit"
		}
		return f.value.bytes, "--runtime.memory-limit"
	}
	if goMemLimit != "" {
		return 0, "GOMEMLIMIT"
	}
	if c, err := cgroup(); err == nil && c > 0 {
		return int64(float64(c) * cgroupShare), "cgroup memory limit × 0.9"
	}
	return int64(DefaultLimit), "default"
}

// cgroupLimit is the memory limit of this process's cgroup (v2
// memory.max, v1 memory.limit_in_bytes); 0 when there is none.
func cgroupLimit() (int64, error) {
	return cgroupLimitAt("/proc/self/cgroup", "/sys/fs/cgroup")
}

// errNoCgroup means no memory controller was found for the process.
var errNoCgroup = errors.New("no memory cgroup")

func cgroupLimitAt(procCgroup, root string) (int64, error) {
	f, err := os.Open(procCgroup)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			file = filepath.Join(root, parts[2], "memory.max")
		case hasController(parts[1], "memory"):
			file = filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes")
		default:
			continue
		}
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			// The root cgroup has no memory.max; a namespaced
			// /proc/self/cgroup may name a path not mounted here.
			continue
		}
		if err != nil {
			return 0, err
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", file, err)
		}
		// cgroup v1 writes "no limit" as a huge page-aligned number.
		if n >= math.MaxInt64/2 {
			return 0, nil
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errNoCgroup
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
