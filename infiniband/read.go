package infiniband

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Reader reads devices of one FS. It reuses its buffers, so it is not safe
// for concurrent use; a collector keeps one.
type Reader struct {
	fs  FS
	buf [4096]byte // sysfs serves at most a page per attribute
	// Counter, when set, says whether a counter file is read at all.
	Counter func(g Group, name string) bool
}

// NewReader returns a Reader of f.
func (f FS) NewReader() *Reader { return &Reader{fs: f} }

// Devices lists class/infiniband, sorted. When the directory does not
// exist it returns ErrNoClass, or an error wrapping ErrNoSysfs when the
// root is not a sysfs at all.
func (r *Reader) Devices() ([]string, error) {
	names, err := readDirNames(r.fs.ClassPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, r.fs.checkRoot()
	}
	return names, err
}

// checkRoot tells a sysfs without class/infiniband (ErrNoClass) from a root
// that is no sysfs (ErrNoSysfs, with what is wrong).
func (f FS) checkRoot() error {
	if _, err := os.Stat(f.root); err != nil {
		return fmt.Errorf("%w: %v", ErrNoSysfs, err)
	}
	class := filepath.Join(f.root, "class")
	if fi, err := os.Stat(class); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s has no class/ directory", ErrNoSysfs, f.root)
	}
	return ErrNoClass
}

// Device reads one device. It never fails as a whole: whatever could not be
// read is in the Errors of the device or its ports, and everything else is
// returned.
func (r *Reader) Device(name string) Device {
	d := Device{Name: name}
	dir := filepath.Join(r.fs.ClassPath(), name)
	for _, a := range [...]struct {
		file string
		dst  *string
	}{
		{"node_guid", &d.NodeGUID},
		{"sys_image_guid", &d.SysImageGUID},
		{"board_id", &d.BoardID},
		{"fw_ver", &d.FirmwareVersion},
		{"hca_type", &d.HCAType},
	} {
		b, err := r.read(filepath.Join(dir, a.file))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Optional: drivers differ in which attributes they have.
		case err != nil:
			d.Errors = append(d.Errors, FileError{Path: name + "/" + a.file, Err: err})
		default:
			*a.dst = strings.TrimSpace(string(b))
		}
	}

	ports, err := readDirNames(filepath.Join(dir, "ports"))
	if err != nil {
		d.Errors = append(d.Errors, FileError{Path: name + "/ports", Err: err})
		return d
	}
	for _, p := range ports {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			continue // not a port directory
		}
		d.Ports = append(d.Ports, r.port(name, filepath.Join(dir, "ports", p), uint(n)))
	}
	sort.Slice(d.Ports, func(i, j int) bool { return d.Ports[i].Number < d.Ports[j].Number })
	return d
}

func (r *Reader) port(dev, dir string, n uint) Port {
	p := Port{Number: n}
	rel := func(file string) string { return dev + "/ports/" + strconv.FormatUint(uint64(n), 10) + "/" + file }
	fail := func(file string, err error) { p.Errors = append(p.Errors, FileError{Path: rel(file), Err: err}) }

	if s, err := r.readString(filepath.Join(dir, "state")); err != nil {
		fail("state", err)
	} else if p.State, err = ParsePortState(s); err != nil {
		fail("state", err)
	}
	if s, err := r.readString(filepath.Join(dir, "phys_state")); err != nil {
		fail("phys_state", err)
	} else if p.PhysState, err = ParsePhysState(s); err != nil {
		fail("phys_state", err)
	}
	if s, err := r.readString(filepath.Join(dir, "rate")); err != nil {
		fail("rate", err)
	} else if p.Rate, err = ParseRate(s); err != nil {
		fail("rate", err)
	} else {
		p.HasRate = true
	}
	if p.HasRate && p.Rate.Lanes == 0 {
		// Some virtual functions print "100 Gb/sec" only; a link_width
		// file, where a driver has one, gives the lanes.
		if s, err := r.readString(filepath.Join(dir, "link_width")); err == nil {
			if lanes, err := ParseWidth(s); err == nil {
				p.Rate.Lanes = lanes
			}
		}
	}
	if s, err := r.readString(filepath.Join(dir, "link_layer")); err != nil {
		fail("link_layer", err)
	} else {
		p.LinkLayer = strings.TrimSpace(s)
	}

	for _, g := range [...]Group{GroupCounters, GroupCountersExt, GroupHWCounters} {
		r.group(&p, g, filepath.Join(dir, g.String()), rel)
	}
	return p
}

// group reads the counter files of one group directory. Files are opened
// relative to the directory (openat), so the kernel does not walk the long
// path through the class symlink again for each of them.
func (r *Reader) group(p *Port, g Group, dir string, rel func(string) string) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return // the group is optional
	}
	if err != nil {
		p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
		return
	}
	defer func() {
		if err := d.Close(); err != nil {
			p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
		}
	}()
	names, err := d.Readdirnames(-1)
	if err != nil {
		p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
		return
	}
	sort.Strings(names)
	dirfd := int(d.Fd())
	for _, name := range names {
		if r.Counter != nil && !r.Counter(g, name) {
			continue
		}
		b, err := r.readAt(dirfd, name)
		if err == nil {
			var v uint64
			if v, err = ParseCounter(b); err == nil {
				p.Counters = append(p.Counters, Counter{Group: g, Name: name, Value: v})
				continue
			}
		}
		if pe, ok := err.(*fs.PathError); ok {
			pe.Path = filepath.Join(dir, name)
		}
		p.Errors = append(p.Errors, FileError{Path: rel(g.String() + "/" + name), Err: err})
	}
}

func (r *Reader) readString(path string) (string, error) {
	b, err := r.read(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// read returns the content of a sysfs attribute in r.buf.
func (r *Reader) read(path string) ([]byte, error) {
	b, err := r.readAt(atFDCWD, path)
	if pe, ok := err.(*fs.PathError); ok {
		pe.Path = path
	}
	return b, err
}

const atFDCWD = -0x64 // AT_FDCWD: openat relative to the working directory

// readAt reads a sysfs attribute, relative to dirfd, into r.buf. It uses
// raw syscalls rather than os.ReadFile: an exporter reads hundreds of these
// files per scrape, and os.File adds allocations, an fstat and a second
// read per file. A sysfs attribute is produced whole by its show function
// on the first read (at most a page), so one read is enough, as
// prometheus/procfs's SysReadFile also assumes; a file that fills the
// buffer is refused rather than cut.
func (r *Reader) readAt(dirfd int, name string) ([]byte, error) {
	fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	n, err := syscall.Read(fd, r.buf[:])
	for err == syscall.EINTR {
		n, err = syscall.Read(fd, r.buf[:])
	}
	if err != nil {
		// The read error is the one worth reporting; closing a read-only
		// descriptor has nothing to add to it.
		_ = syscall.Close(fd)
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if err := syscall.Close(fd); err != nil {
		return nil, &fs.PathError{Op: "close", Path: name, Err: err}
	}
	if n == len(r.buf) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("longer than %d bytes", len(r.buf))}
	}
	return r.buf[:n], nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	cerr := f.Close()
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	sort.Strings(names)
	return names, nil
}
