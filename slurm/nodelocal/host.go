package nodelocal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Opt is a value a cgroup file may not give. OK false means absent (the
// file or the cgroup is gone, the kernel has no such file, the limit is
// "max"), never 0.
type Opt[T any] struct {
	V  T
	OK bool
}

func some[T any](v T) Opt[T] { return Opt[T]{V: v, OK: true} }

// HostStats is the host side of one Slurm job on this node, from its job
// cgroup, in base units. Every field may be absent.
type HostStats struct {
	// CPUSeconds is the CPU time the job's processes used, user and
	// system together (v2 cpu.stat usage_usec; v1 cpuacct.usage).
	CPUSeconds Opt[float64]
	// CPUs is how many CPUs the job may run on here (v2
	// cpuset.cpus.effective; v1 cpuset.cpus).
	CPUs Opt[int]
	// MemoryUsed is the memory charged to the job (v2 memory.current; v1
	// memory.usage_in_bytes). It includes the page cache of files the job
	// read or wrote, which the kernel reclaims before it OOM-kills: compare
	// MemoryAnon with the limit to see memory pressure.
	MemoryUsed Opt[uint64]
	// MemoryAnon and MemoryFile split the charge: anonymous memory (the
	// job's heap and stacks; v2 memory.stat anon, v1 total_rss) and page
	// cache (v2 file, v1 total_cache). Read only with HostReader.MemoryStat.
	MemoryAnon Opt[uint64]
	MemoryFile Opt[uint64]
	// MemoryPeak is the highest MemoryUsed since the cgroup was created (v2
	// memory.peak, Linux 5.19 and later; v1 memory.max_usage_in_bytes).
	MemoryPeak Opt[uint64]
	// MemoryLimit is the job's memory limit (v2 memory.max; v1
	// memory.limit_in_bytes); absent when unlimited.
	MemoryLimit Opt[uint64]
	// OOMKills counts processes of the job the OOM killer killed (v2
	// memory.events oom_kill; v1 memory.oom_control oom_kill, Linux 4.13
	// and later).
	OOMKills Opt[uint64]
}

// HostReader reads HostStats of job cgroups below one cgroup filesystem.
// It is safe for concurrent use.
type HostReader struct {
	fs string
	// MemoryStat also reads memory.stat for MemoryAnon and MemoryFile: one
	// more file per job (see docs/performance.md).
	MemoryStat bool

	once sync.Once
	err  error
	v2   bool
	// v1 controller directories, "" where the controller is not mounted.
	cpuacct, cpuset, memory string
}

// NewHostReader reads below cgroupFS (--path.cgroupfs). The layout (v2, or
// v1 with which controllers) is found on the first Read, as Discovery
// finds it: a v2 root where cgroupFS has cgroup.controllers, else v1.
func NewHostReader(cgroupFS string) *HostReader {
	return &HostReader{fs: cgroupFS}
}

func (r *HostReader) layout() error {
	r.once.Do(func() {
		if _, err := os.Stat(filepath.Join(r.fs, "cgroup.controllers")); err == nil {
			r.v2 = true
			return
		}
		find := func(names ...string) string {
			for _, n := range names {
				p := filepath.Join(r.fs, n)
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					return p
				}
			}
			return ""
		}
		// cpuacct is co-mounted with cpu on most distributions, with a
		// cpuacct symlink that not every container runtime carries.
		r.cpuacct = find("cpuacct", "cpu,cpuacct", "cpuacct,cpu")
		r.cpuset = find("cpuset")
		r.memory = find("memory")
		if r.cpuacct == "" && r.cpuset == "" && r.memory == "" {
			r.err = fmt.Errorf("no cgroup v2 root or v1 cpuacct, cpuset or memory controller under %s", r.fs)
		}
	})
	return r.err
}

// Read returns the stats of the job cgroup at cgroup (Job.Cgroup: the path
// below the v2 root, or below each v1 controller). A job that ended
// meanwhile gives absent fields, not an error; the error reports files
// that exist but could not be read or parsed (the other fields are still
// filled).
func (r *HostReader) Read(cgroup string) (HostStats, error) {
	var s HostStats
	if err := r.layout(); err != nil {
		return s, err
	}
	rd := fileReader{fd: -1}
	if r.v2 {
		rd.dir(filepath.Join(r.fs, cgroup))
		rd.read("cpu.stat", func(b string) error {
			v, ok, err := ParseKeyed(b, "usage_usec")
			if ok {
				s.CPUSeconds = some(float64(v) / 1e6)
			}
			return err
		})
		rd.read("cpuset.cpus.effective", cpusInto(&s.CPUs))
		rd.read("memory.current", uintInto(&s.MemoryUsed))
		rd.read("memory.peak", uintInto(&s.MemoryPeak))
		rd.read("memory.max", limitInto(&s.MemoryLimit))
		rd.read("memory.events", keyedInto(&s.OOMKills, "oom_kill"))
		if r.MemoryStat {
			rd.read("memory.stat", memStatInto(&s, "anon", "file"))
		}
		rd.close()
		return s, rd.err()
	}
	if r.cpuacct != "" {
		rd.dir(filepath.Join(r.cpuacct, cgroup))
		rd.read("cpuacct.usage", func(b string) error {
			v, err := ParseUint(b)
			if err == nil {
				s.CPUSeconds = some(float64(v) / 1e9)
			}
			return err
		})
	}
	if r.cpuset != "" {
		rd.dir(filepath.Join(r.cpuset, cgroup))
		rd.read("cpuset.cpus", cpusInto(&s.CPUs))
	}
	if r.memory != "" {
		rd.dir(filepath.Join(r.memory, cgroup))
		rd.read("memory.usage_in_bytes", uintInto(&s.MemoryUsed))
		rd.read("memory.max_usage_in_bytes", uintInto(&s.MemoryPeak))
		rd.read("memory.limit_in_bytes", limitInto(&s.MemoryLimit))
		rd.read("memory.oom_control", keyedInto(&s.OOMKills, "oom_kill"))
		if r.MemoryStat {
			// total_*: the job directory's own rss/cache count only tasks
			// attached to it directly, and Slurm puts them in step_*/task_*.
			rd.read("memory.stat", memStatInto(&s, "total_rss", "total_cache"))
		}
	}
	rd.close()
	return s, rd.err()
}

func uintInto(dst *Opt[uint64]) func(string) error {
	return func(b string) error {
		v, err := ParseUint(b)
		if err == nil {
			*dst = some(v)
		}
		return err
	}
}

func limitInto(dst *Opt[uint64]) func(string) error {
	return func(b string) error {
		v, err := ParseLimit(b)
		*dst = v
		return err
	}
}

func cpusInto(dst *Opt[int]) func(string) error {
	return func(b string) error {
		n, err := ParseCPUList(b)
		if err == nil {
			*dst = some(n)
		}
		return err
	}
}

func keyedInto(dst *Opt[uint64], key string) func(string) error {
	return func(b string) error {
		v, ok, err := ParseKeyed(b, key)
		if ok {
			*dst = some(v)
		}
		return err
	}
}

func memStatInto(s *HostStats, anon, file string) func(string) error {
	return func(b string) error {
		a, aok, err := ParseKeyed(b, anon)
		if aok {
			s.MemoryAnon = some(a)
		}
		f, fok, err2 := ParseKeyed(b, file)
		if fok {
			s.MemoryFile = some(f)
		}
		return errors.Join(err, err2)
	}
}

// fileReader opens a cgroup directory once and its files relative to it
// (openat), so a job's files cost one path walk, not one each. A directory
// or file that is gone (the job ended between the walk and the read) is
// skipped silently; other failures are collected.
type fileReader struct {
	fd   int // -1: no directory open
	path string
	errs []error
	buf  [maxSmallFile]byte
}

func (f *fileReader) dir(path string) {
	f.close()
	f.path = path
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		f.fd = -1
		if !gone(err) {
			f.errs = append(f.errs, fmt.Errorf("%s: %w", path, err))
		}
		return
	}
	f.fd = fd
}

func (f *fileReader) close() {
	if f.fd >= 0 {
		syscall.Close(f.fd) // read-only: a failing close loses nothing
	}
	f.fd = -1
}

func (f *fileReader) read(name string, parse func(string) error) {
	if f.fd < 0 {
		return
	}
	b, err := readAt(f.fd, name, f.buf[:])
	if err != nil {
		if !gone(err) {
			f.errs = append(f.errs, fmt.Errorf("%s/%s: %w", f.path, name, err))
		}
		return
	}
	if err := parse(string(b)); err != nil {
		f.errs = append(f.errs, fmt.Errorf("%s/%s: %w", f.path, name, err))
	}
}

func (f *fileReader) err() error { return errors.Join(f.errs...) }

// gone is an error of a cgroup that was removed, or of a file this kernel
// or this controller set does not have: the value is absent, not failed.
// A removed cgroup's open files read ENODEV.
func gone(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ESRCH)
}

// readAt reads the file name in the directory dirfd; a file that fills buf
// is an error, since a cut-off cgroup value would be misread.
func readAt(dirfd int, name string, buf []byte) ([]byte, error) {
	fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd) // read-only: a failing close loses nothing
	b, full, err := readFD(fd, buf)
	if err != nil {
		return nil, err
	}
	if full {
		return nil, fmt.Errorf("longer than %d bytes", len(buf))
	}
	return b, nil
}

// ParseUint reads a cgroup file holding one unsigned number
// (memory.current, cpuacct.usage, …).
func ParseUint(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(s), 10, 64)
}

// unlimitedV1 bounds real limits: cgroup v1 writes "no limit" as
// PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages, other
// values with other page sizes); no host has an exbibyte of memory.
const unlimitedV1 = 1 << 60

// ParseLimit reads a memory limit: v2 memory.max ("max" is no limit) or
// v1 memory.limit_in_bytes (no limit is a huge number). No limit is absent.
func ParseLimit(s string) (Opt[uint64], error) {
	t := strings.TrimSpace(s)
	if t == "max" {
		return Opt[uint64]{}, nil
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return Opt[uint64]{}, err
	}
	if v >= unlimitedV1 {
		return Opt[uint64]{}, nil
	}
	return some(v), nil
}

// ParseKeyed finds key in a flat-keyed cgroup file ("key value" per line:
// cpu.stat, memory.stat, memory.events, memory.oom_control). ok is false
// when the kernel does not write that key.
func ParseKeyed(s, key string) (v uint64, ok bool, err error) {
	for len(s) > 0 {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		k, val, found := strings.Cut(line, " ")
		if !found || k != key {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", key, err)
		}
		return v, true, nil
	}
	return 0, false, nil
}

// maxCPU bounds CPU numbers: Linux's NR_CPUS is at most 8192 on every
// distribution kernel; a larger number is not a CPU list.
const maxCPU = 1 << 16

// ParseCPUList counts the CPUs of a cpuset list ("0-3,8,10-11" is 7). An
// empty list is an error: a job cgroup with no CPU is not what the kernel
// writes once the cpuset controller is on.
func ParseCPUList(s string) (int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty cpu list")
	}
	n := 0
	for _, part := range strings.Split(t, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return 0, err
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return 0, err
			}
			if b < a {
				return 0, fmt.Errorf("cpu range %q runs backwards", part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

func cpuNumber(s string) (int, error) {
	// ParseUint: no sign, no spaces inside the list.
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v >= maxCPU {
		return 0, fmt.Errorf("bad cpu number %q", s)
	}
	return int(v), nil
}
