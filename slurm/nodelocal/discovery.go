package nodelocal

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config is where Discovery looks.
type Config struct {
	CgroupFS  string // --path.cgroupfs
	ProcFS    string // --path.procfs
	PrologDir string // prolog files, already below --path.rootfs
	// FullWalkEvery is how often the whole cgroup tree is walked to find
	// Slurm's cgroup roots (new slurmd, Slinky pods); between walks only the
	// known roots are listed. 0 walks on every call.
	FullWalkEvery time.Duration
	// PIDTTL is how long a process's job is remembered; 0 reads
	// /proc/PID/cgroup on every call. PIDs are not reused quickly
	// (pid_max is 4M on current kernels), and a remembered job that has
	// ended is dropped at once.
	PIDTTL time.Duration
	Now    func() time.Time
}

// Job is a Slurm job found on this node.
type Job struct {
	// ID is the numeric job ID, or the SLUID where the ID could not be
	// resolved (no prolog file and no slurmstepd to ask).
	ID    string
	SLUID string
	UID   int // -1 when unknown
	// Start is the prolog's start time, else the job cgroup's creation
	// (approximated by the oldest mtime of it and its step directories).
	Start time.Time
	// GPUUUIDs and GPUIndices come from the prolog file; GPUMinors from a
	// cgroup v1 devices.list. Tenancy resolves them against the GPUs.
	GPUUUIDs   []string
	GPUIndices []int
	GPUMinors  []int
	// Cgroup is the job directory relative to CgroupFS; "" without one.
	Cgroup string
	// Prolog is whether a prolog file names the job.
	Prolog bool
	// Node is the Slurm NodeName the job's prolog recorded (SLURMD_NODENAME);
	// "" without one.
	Node string
}

// Result is one discovery.
type Result struct {
	Jobs []Job // sorted by ID
	// StaleFiles are prolog files whose job has no cgroup any more: the
	// epilog did not run. They are ignored and reported.
	StaleFiles []string
	// CgroupRoots are the Slurm cgroup roots found (slurmstepd.scope,
	// slurm/, one per slurmd), relative to CgroupFS.
	CgroupRoots []string
	// PrologErr and CgroupErr are set when that source failed; the other
	// still contributes.
	PrologErr error
	CgroupErr error
}

// Discovery finds local jobs. It is safe for concurrent use.
type Discovery struct {
	cfg Config

	mu       sync.Mutex
	base     string   // the cgroup hierarchy walked (v2 root or a v1 controller)
	v1       string   // v1 controller name, "" for v2
	roots    []string // Slurm cgroup roots, absolute
	lastWalk time.Time
	sluids   map[string]string // SLUID -> job ID, learnt from slurmstepd
	// pids caches JobOfPID for PIDTTL: a process does not change job, and
	// re-reading /proc/PID/cgroup for every GPU process on every scrape was
	// most of the agent's CPU time.
	pids map[uint32]pidEntry
	// jobDirs remembers what each directory below a Slurm root told, by
	// parent directory and name, for as long as the directory (same name,
	// same inode) stays: a job's cgroup path, IDs and start time do not
	// change during its life, and stat'ing every step directory for the
	// start time on every scrape was a third of the discovery's work.
	jobDirs map[string]map[string]*jobDir
	scan    uint64 // the current cgroupJobs pass, to forget vanished directories
	// dirBuf are the getdents64 buffers, reused by every listing: [1] for
	// a listing inside another's callback (scanRoot's uid_N level).
	dirBuf [2][]byte
	// prologs remembers each prolog file as parsed, while its inode, size
	// and mtime stay: the prolog writes a file once (a temporary file
	// renamed into place), so one fstatat replaces reading and parsing it
	// on every scrape.
	prologs    map[string]*prologEntry
	prologScan uint64
}

type prologEntry struct {
	ino   uint64
	size  int64
	mtime unix.Timespec
	job   PrologJob
	err   error // the file's read or parse error, reported on every scan
	seen  uint64
}

// jobDir is one directory below a Slurm root as first seen.
type jobDir struct {
	ino   uint64
	isJob bool   // false: not a job directory (slurmstepd's own cgroup, …)
	dir   string // absolute path
	job   Job    // without GPUMinors, which are read on every scan
	seen  uint64 // the last scan that listed it
}

type pidEntry struct {
	job string
	ok  bool
	at  time.Time
}

// New returns a Discovery.
func New(cfg Config) *Discovery {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Discovery{cfg: cfg, sluids: map[string]string{}, pids: map[uint32]pidEntry{}, jobDirs: map[string]map[string]*jobDir{}, prologs: map[string]*prologEntry{},
		dirBuf: [2][]byte{make([]byte, direntBufSize), make([]byte, direntBufSize)}}
}

// staleGrace is how long a prolog file may wait for its job's cgroup.
const staleGrace = 2 * time.Minute

// maxWalkDepth bounds the full walk: Slinky's deepest job directory is
// kubepods.slice/…-burstable.slice/…pod.slice/cri-….scope/system.slice/slurmstepd.scope/job_N.
const maxWalkDepth = 10

// Discover reads prolog files and job cgroups.
func (d *Discovery) Discover() Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res Result
	cg, err := d.cgroupJobs()
	if err != nil {
		res.CgroupErr = err
	}
	for _, r := range d.roots {
		if rel, err := filepath.Rel(d.base, r); err == nil {
			res.CgroupRoots = append(res.CgroupRoots, rel)
		}
	}
	files, err := d.prologJobs()
	if err != nil {
		res.PrologErr = err
	}

	// Indices into cg, by job ID and by SLUID (cg grows below, so no pointers).
	byKey := map[string]int{}
	for i, j := range cg {
		byKey[j.ID] = i
		if j.SLUID != "" {
			byKey[j.SLUID] = i
		}
	}
	// A file is only stale when the cgroups prove its job gone: a readable
	// Slurm root, and no SLUID directory whose job ID is still unknown (it
	// could be that job).
	haveCgroups := res.CgroupErr == nil && len(d.roots) > 0
	for _, j := range cg {
		if j.SLUID != "" && j.ID == j.SLUID {
			haveCgroups = false
		}
	}
	for _, f := range files {
		i, ok := byKey[f.job.ID]
		if !ok && f.job.SLUID != "" {
			i, ok = byKey[f.job.SLUID]
		}
		if !ok {
			// The prolog runs before slurmstepd creates the job's cgroup: a
			// young file is a starting job, not a stale one.
			young := !f.job.Start.IsZero() && d.cfg.Now().Sub(f.job.Start) < staleGrace
			if haveCgroups && !young {
				res.StaleFiles = append(res.StaleFiles, f.name)
				continue
			}
			// Without a cgroup view a file cannot be proven stale.
			cg = append(cg, Job{ID: f.job.ID, UID: -1})
			i = len(cg) - 1
			byKey[f.job.ID] = i
		}
		j := &cg[i]
		if j.ID != f.job.ID {
			// A SLUID directory resolved through the prolog file.
			d.sluids[j.SLUID] = f.job.ID
			j.ID = f.job.ID
		}
		j.Prolog = true
		if f.job.SLUID != "" {
			j.SLUID = f.job.SLUID
		}
		if f.job.UID >= 0 {
			j.UID = f.job.UID
		}
		if !f.job.Start.IsZero() {
			j.Start = f.job.Start
		}
		j.GPUUUIDs = f.job.GPUUUIDs
		j.GPUIndices = f.job.GPUIndices
		j.Node = f.job.Node
	}
	res.Jobs = dedupe(cg)
	sort.Strings(res.StaleFiles)
	d.prunePIDs(res.Jobs)
	if res.CgroupErr == nil {
		d.pruneSLUIDs(res.Jobs)
	}
	return res
}

// pruneSLUIDs forgets the SLUIDs of jobs whose cgroup is gone, so the map
// holds the node's running jobs, not every job it ever ran.
func (d *Discovery) pruneSLUIDs(jobs []Job) {
	if len(d.sluids) == 0 {
		return
	}
	live := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		if j.SLUID != "" {
			live[j.SLUID] = true
		}
	}
	for s := range d.sluids {
		if !live[s] {
			delete(d.sluids, s)
		}
	}
}

func dedupe(jobs []Job) []Job {
	seen := map[string]bool{}
	out := jobs[:0]
	for _, j := range jobs {
		if seen[j.ID] {
			continue
		}
		seen[j.ID] = true
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return lessID(out[a].ID, out[b].ID) })
	return out
}

// lessID orders numeric job IDs numerically, SLUIDs after them.
func lessID(a, b string) bool {
	na, ea := strconv.ParseUint(a, 10, 64)
	nb, eb := strconv.ParseUint(b, 10, 64)
	switch {
	case ea == nil && eb == nil:
		return na < nb
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return a < b
}

type prologFile struct {
	name string
	job  PrologJob
}

func (d *Discovery) prologJobs() ([]prologFile, error) {
	if d.cfg.PrologDir == "" {
		return nil, nil
	}
	d.prologScan++
	var out []prologFile
	var bad []string
	err := listDir(d.cfg.PrologDir, d.dirBuf[0], func(fd int, name []byte, ino uint64, isDir bool) {
		// Dot files are the prolog's temporary files before rename.
		if isDir || len(name) == 0 || name[0] == '.' {
			return
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, string(name), &st, 0); err != nil {
			// Removed by the epilog between the listing and now.
			if !errors.Is(err, fs.ErrNotExist) {
				bad = append(bad, fmt.Sprintf("%s: %v", name, err))
			}
			return
		}
		pf := d.prologs[string(name)]
		if pf == nil || pf.ino != st.Ino || pf.size != st.Size || pf.mtime != st.Mtim {
			pf = &prologEntry{ino: st.Ino, size: st.Size, mtime: st.Mtim}
			var buf [maxSmallFile]byte
			b, err := readAt(fd, string(name), buf[:])
			if errors.Is(err, fs.ErrNotExist) {
				return
			}
			if err == nil {
				pf.job, err = ParsePrologFile(string(b))
			}
			pf.err = err
			d.prologs[string(name)] = pf
		}
		pf.seen = d.prologScan
		if pf.err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", name, pf.err))
			return
		}
		j := pf.job
		j.GPUUUIDs, j.GPUIndices = slices.Clip(j.GPUUUIDs), slices.Clip(j.GPUIndices)
		out = append(out, prologFile{name: string(name), job: j})
	})
	for name, pf := range d.prologs {
		if pf.seen != d.prologScan {
			delete(d.prologs, name)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		// No prolog installed: cgroups alone attribute jobs.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prolog files: %w", err)
	}
	// In name order, as the files were read before (the first file that
	// names a job wins).
	slices.SortFunc(out, func(a, b prologFile) int { return strings.Compare(a.name, b.name) })
	if len(bad) > 0 {
		sort.Strings(bad)
		return out, fmt.Errorf("prolog files: %d unreadable, first %s", len(bad), bad[0])
	}
	return out, nil
}

// v1Controllers are the cgroup v1 controllers Slurm confines jobs with,
// tried in order (findBase) and accepted in /proc/PID/cgroup
// (ParseProcCgroup): devices also tells which GPUs a job may open.
var v1Controllers = []string{"devices", "freezer", "memory", "cpuset", "cpuacct"}

func (d *Discovery) findBase() error {
	if d.base != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(d.cfg.CgroupFS, "cgroup.controllers")); err == nil {
		d.base = d.cfg.CgroupFS
		return nil
	}
	for _, c := range v1Controllers {
		p := filepath.Join(d.cfg.CgroupFS, c)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			d.base, d.v1 = p, c
			return nil
		}
	}
	return fmt.Errorf("no cgroup v2 root or v1 controller under %s", d.cfg.CgroupFS)
}

func (d *Discovery) cgroupJobs() ([]Job, error) {
	if d.cfg.CgroupFS == "" {
		return nil, nil
	}
	if err := d.findBase(); err != nil {
		return nil, err
	}
	now := d.cfg.Now()
	if d.lastWalk.IsZero() || now.Sub(d.lastWalk) >= d.cfg.FullWalkEvery {
		roots, err := d.walkRoots(d.base)
		if err != nil {
			return nil, err
		}
		d.roots, d.lastWalk = roots, now
	}
	d.scan++
	var jobs []Job
	for _, root := range d.roots {
		var err error
		jobs, err = d.scanRoot(root, jobs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return jobs, err
		}
	}
	// Forget directories this pass did not list: the job ended (or the
	// root went), and a directory of the same name later is a new job.
	for parent, m := range d.jobDirs {
		for name, j := range m {
			if j.seen != d.scan {
				delete(m, name)
			}
		}
		if len(m) == 0 {
			delete(d.jobDirs, parent)
		}
	}
	return jobs, nil
}

// isSlurmRoot names the directories below which slurmstepd creates job
// cgroups: v1 slurm/ (slurm_NODE/ with several slurmd) and v2
// slurmstepd.scope (NODE_slurmstepd.scope).
func isSlurmRoot(name string) bool {
	return name == "slurm" || strings.HasPrefix(name, "slurm_") ||
		name == "slurmstepd.scope" || strings.HasSuffix(name, "_slurmstepd.scope")
}

// walkRoots finds every Slurm cgroup root below base, at any depth up to
// maxWalkDepth, without descending into them. It does not open a
// directory whose link count says it has no subdirectories (2: "." and
// its entry in the parent; cgroupfs, tmpfs and ext4 count one more per
// subdirectory), as GNU find's leaf optimisation does: most cgroups on a
// node are leaves (services, sessions), and a cgroup directory holds
// dozens of files, so one fstatat replaces an open, getdents and close.
// A filesystem that counts otherwise (btrfs says 1) is walked in full.
func (d *Discovery) walkRoots(base string) ([]string, error) {
	var roots []string
	// walk lists dir (at depth below base) and goes on into its children
	// in name order, as filepath.WalkDir did: the order of the roots is
	// the order their jobs are taken in.
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		type child struct {
			path string
			root bool
		}
		var children []child
		err := listDir(dir, d.dirBuf[0], func(fd int, name []byte, _ uint64, isDir bool) {
			if !isDir {
				return
			}
			if isSlurmRoot(string(name)) {
				children = append(children, child{dir + "/" + string(name), true})
				return
			}
			if depth+1 >= maxWalkDepth {
				return
			}
			var st unix.Stat_t
			if err := unix.Fstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Nlink == 2 {
				return // removed meanwhile, or a leaf
			}
			children = append(children, child{dir + "/" + string(name), false})
		})
		if err != nil {
			return err
		}
		slices.SortFunc(children, func(a, b child) int { return strings.Compare(a.path, b.path) })
		for _, c := range children {
			if c.root {
				roots = append(roots, c.path)
				continue
			}
			// A cgroup removed during the walk, or one we may not read:
			// skip it, the rest of the tree still counts.
			_ = walk(c.path, depth+1)
		}
		return nil
	}
	if err := walk(base, 0); err != nil {
		return nil, err
	}
	return roots, nil
}

// scanRoot appends the jobs of one Slurm root: its children (v2) or its
// uid_N children's children (v1).
func (d *Discovery) scanRoot(root string, jobs []Job) ([]Job, error) {
	err := listDir(root, d.dirBuf[0], func(_ int, name []byte, ino uint64, isDir bool) {
		if !isDir {
			return
		}
		if bytes.HasPrefix(name, []byte("uid_")) {
			p := root + "/" + string(name)
			// An error: the user cgroup was removed meanwhile.
			_ = listDir(p, d.dirBuf[1], func(_ int, sub []byte, ino uint64, isDir bool) {
				if isDir {
					jobs = d.jobIn(p, sub, ino, jobs)
				}
			})
			return
		}
		jobs = d.jobIn(root, name, ino, jobs)
	})
	return jobs, err
}

// jobIn appends the job of directory name (inode ino) in parent, if it is
// one, from what its first sighting told.
func (d *Discovery) jobIn(parent string, name []byte, ino uint64, jobs []Job) []Job {
	m := d.jobDirs[parent]
	if m == nil {
		m = map[string]*jobDir{}
		d.jobDirs[parent] = m
	}
	jd := m[string(name)]
	if jd == nil || jd.ino != ino {
		jd = d.newJobDir(parent+"/"+string(name), ino)
		m[string(name)] = jd
	}
	jd.seen = d.scan
	if !jd.isJob {
		return jobs
	}
	j := jd.job
	if j.ID == "" {
		j.ID = d.resolveSLUID(jd.dir, j.SLUID)
	}
	if d.v1 == "devices" {
		j.GPUMinors = gpuMinors(filepath.Join(jd.dir, "devices.list"))
	}
	return append(jobs, j)
}

// newJobDir reads what does not change for the life of a job directory:
// its IDs, cgroup path and start time. A SLUID directory's job ID is left
// "" for jobIn to resolve on every scan until known (d.sluids).
func (d *Discovery) newJobDir(dir string, ino uint64) *jobDir {
	jd := &jobDir{ino: ino, dir: dir}
	rel, err := filepath.Rel(d.base, dir)
	if err != nil {
		return jd
	}
	c, ok := ParseCgroupPath("/" + filepath.ToSlash(rel))
	if !ok || c.Step != "" {
		return jd
	}
	jd.isJob = true
	jd.job = Job{ID: c.JobID, SLUID: c.SLUID, UID: c.UID, Cgroup: "/" + filepath.ToSlash(rel), Start: oldestMtime(dir)}
	return jd
}

// resolveSLUID finds the numeric job ID of a SLUID directory from the
// process title of a slurmstepd in it; the SLUID stands in until then.
func (d *Discovery) resolveSLUID(dir, sluid string) string {
	if id, ok := d.sluids[sluid]; ok {
		return id
	}
	steps, err := os.ReadDir(dir)
	if err != nil {
		return sluid
	}
	for _, s := range steps {
		if !s.IsDir() || !strings.HasPrefix(s.Name(), "step_") {
			continue
		}
		procs, err := os.ReadFile(filepath.Join(dir, s.Name(), "slurm", "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(procs)) {
			cmd, err := os.ReadFile(filepath.Join(d.cfg.ProcFS, pid, "cmdline"))
			if err != nil {
				continue
			}
			if id, ok := ParseStepdTitle(string(cmd)); ok {
				d.sluids[sluid] = id
				return id
			}
		}
	}
	return sluid
}

// oldestMtime approximates when a job cgroup was created: a directory's
// mtime moves when children are added, so the oldest of the job directory
// and its step directories is the closest the filesystem tells.
func oldestMtime(dir string) time.Time {
	var oldest time.Time
	consider := func(p string) {
		if fi, err := os.Stat(p); err == nil && (oldest.IsZero() || fi.ModTime().Before(oldest)) {
			oldest = fi.ModTime()
		}
	}
	consider(dir)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "step_") {
				consider(filepath.Join(dir, e.Name()))
			}
		}
	}
	return oldest
}

// gpuMinors reads a cgroup v1 devices.list and returns the NVIDIA GPU minor
// numbers (character major 195, below nvidiactl's 255 and modeset's 254).
func gpuMinors(path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return ParseDevicesList(string(b))
}

// ParseDevicesList extracts NVIDIA GPU minors from devices.list content
// ("c 195:0 rwm"). "a *:* rwm" (unconfined) gives none.
func ParseDevicesList(s string) []int {
	var out []int
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "c" {
			continue
		}
		maj, min, ok := strings.Cut(f[1], ":")
		if !ok || maj != "195" {
			continue
		}
		n, err := strconv.Atoi(min)
		if err != nil || n < 0 || n >= 254 {
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// prunePIDs forgets expired entries and those of jobs that ended.
func (d *Discovery) prunePIDs(jobs []Job) {
	live := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		live[j.ID] = true
	}
	now := d.cfg.Now()
	for pid, e := range d.pids {
		if now.Sub(e.at) >= d.cfg.PIDTTL || (e.ok && !live[e.job]) {
			delete(d.pids, pid)
		}
	}
}

// JobOfPID returns the job a process runs in, from /proc/PID/cgroup; ok is
// false for a process outside any Slurm job (or already gone).
func (d *Discovery) JobOfPID(pid uint32) (string, bool) {
	if d.cfg.PIDTTL > 0 {
		d.mu.Lock()
		e, hit := d.pids[pid]
		d.mu.Unlock()
		if hit {
			return e.job, e.ok
		}
	}
	job, ok := d.jobOfPID(pid)
	if d.cfg.PIDTTL > 0 {
		d.mu.Lock()
		d.pids[pid] = pidEntry{job: job, ok: ok, at: d.cfg.Now()}
		d.mu.Unlock()
	}
	return job, ok
}

func (d *Discovery) jobOfPID(pid uint32) (string, bool) {
	var buf [maxSmallFile]byte
	b, err := readSmall(d.cfg.ProcFS+"/"+strconv.FormatUint(uint64(pid), 10)+"/cgroup", buf[:])
	if err != nil {
		return "", false
	}
	c, ok := ParseCgroupPath(ParseProcCgroup(string(b)))
	if !ok {
		return "", false
	}
	if c.JobID != "" {
		return c.JobID, true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.sluids[c.SLUID]; ok {
		return id, true
	}
	return c.SLUID, true
}
