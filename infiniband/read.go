package infiniband

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultRelistEvery is how long a Reader trusts a directory listing.
const DefaultRelistEvery = 5 * time.Minute

// Reader reads devices of one FS. It reuses its buffers and caches the
// listings of port and counter directories, so it is not safe for
// concurrent use; a collector keeps one.
type Reader struct {
	fs  FS
	buf [4096]byte // sysfs serves at most a page per attribute
	// Counter, when set, says whether a counter file is read at all. It
	// must give the same answer for the life of the Reader: its answers
	// are cached with the listings.
	Counter func(g Group, name string) bool
	// RelistEvery is how long a listing of a ports/ or counter directory
	// is trusted (DefaultRelistEvery when 0). The files of a port do not
	// change while its driver is loaded, and listing a directory costs an
	// open, getdents and close per scrape; a file that vanishes (a driver
	// reload) makes its directory listed again at the next read, so only
	// files that appear wait for this interval.
	RelistEvery time.Duration
	// Now is the clock of the listing cache; nil is time.Now.
	Now func() time.Time

	listings map[string]*listing
	scrape   uint64 // Devices calls, to forget listings no longer used
}

// listing is a directory's entries as last listed: for a counter group,
// the names the Counter filter keeps.
type listing struct {
	names  []string
	absent bool // the directory did not exist
	// extended is, for a counters/ directory, whether it has the
	// unicast_/multicast_ files of PortCountersExtended (read or not).
	extended bool
	// attrs are, for a ports/ directory, its device's attributes
	// (node_guid, sys_image_guid, board_id, fw_ver, hca_type) when all
	// could be read.
	attrs *[5]string
	at    time.Time
	used  uint64 // scrape that last used it
	stale bool   // a file listed here vanished: list again
}

// NewReader returns a Reader of f.
func (f FS) NewReader() *Reader { return &Reader{fs: f, listings: map[string]*listing{}} }

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// cached returns dir's listing when it can still be trusted.
func (r *Reader) cached(dir string) *listing {
	l := r.listings[dir]
	if l == nil || l.stale {
		return nil
	}
	every := r.RelistEvery
	if every <= 0 {
		every = DefaultRelistEvery
	}
	if age := r.now().Sub(l.at); age >= every || age < 0 {
		return nil
	}
	l.used = r.scrape
	return l
}

func (r *Reader) remember(dir string, l *listing) *listing {
	l.at, l.used = r.now(), r.scrape
	r.listings[dir] = l
	return l
}

// Devices lists class/infiniband, sorted. When the directory does not
// exist it returns ErrNoClass, or an error wrapping ErrNoSysfs when the
// root is not a sysfs at all.
//
// The class directory itself is listed on every call, so a device that
// appears is read from the next scrape on.
func (r *Reader) Devices() ([]string, error) {
	r.scrape++
	for dir, l := range r.listings {
		if l.used+1 < r.scrape {
			delete(r.listings, dir) // a device gone or filtered out
		}
	}
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
	portsDir := filepath.Join(dir, "ports")
	l := r.cached(portsDir)
	if l != nil && l.attrs != nil {
		// The attributes are fixed while the device exists (a firmware
		// update takes a device reset, which makes the driver create the
		// device again): cached with the ports listing.
		d.NodeGUID, d.SysImageGUID, d.BoardID, d.FirmwareVersion, d.HCAType = l.attrs[0], l.attrs[1], l.attrs[2], l.attrs[3], l.attrs[4]
	} else {
		r.deviceAttrs(&d, dir)
	}
	if l == nil {
		ports, err := readDirNames(portsDir)
		if err != nil {
			delete(r.listings, portsDir)
			d.Errors = append(d.Errors, FileError{Path: name + "/ports", Err: err})
			return d
		}
		// Sorted by number: ports 1..N, and 10 after 9.
		ports = slices.DeleteFunc(ports, func(p string) bool {
			_, err := strconv.ParseUint(p, 10, 16)
			return err != nil // not a port directory
		})
		slices.SortFunc(ports, func(a, b string) int { return cmp.Compare(portNumber(a), portNumber(b)) })
		l = r.remember(portsDir, &listing{names: ports})
		if len(d.Errors) == 0 {
			l.attrs = &[5]string{d.NodeGUID, d.SysImageGUID, d.BoardID, d.FirmwareVersion, d.HCAType}
		}
	}
	for _, p := range l.names {
		port := r.port(name, filepath.Join(portsDir, p), portNumber(p))
		if port.gone {
			// The port directory vanished under us: forget the listing.
			l.stale = true
			continue
		}
		d.Ports = append(d.Ports, port)
	}
	return d
}

// deviceAttrs reads the device's attribute files into d.
func (r *Reader) deviceAttrs(d *Device, dir string) {
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
			d.Errors = append(d.Errors, FileError{Path: d.Name + "/" + a.file, Err: err})
		default:
			*a.dst = strings.TrimSpace(string(b))
		}
	}
}

func portNumber(s string) uint {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint(n)
}

func (r *Reader) port(dev, dir string, n uint) Port {
	p := Port{Number: n}
	rel := func(file string) string { return dev + "/ports/" + strconv.FormatUint(uint64(n), 10) + "/" + file }
	fail := func(file string, err error) { p.Errors = append(p.Errors, FileError{Path: rel(file), Err: err}) }

	if s, err := r.readString(filepath.Join(dir, "state")); errors.Is(err, fs.ErrNotExist) && r.missing(dir) {
		p.gone = true
		return p
	} else if err != nil {
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

// missing reports whether dir is gone (a port of a device being removed).
func (r *Reader) missing(dir string) bool {
	_, err := os.Lstat(dir)
	return errors.Is(err, fs.ErrNotExist)
}

// group reads the counter files of one group directory. Files are opened
// relative to the directory (openat), so the kernel does not walk the long
// path through the class symlink again for each of them. The directory's
// listing, filtered, is cached (see Reader.RelistEvery).
func (r *Reader) group(p *Port, g Group, dir string, rel func(string) string) {
	l := r.cached(dir)
	if l != nil && (l.absent || len(l.names) == 0) {
		if g == GroupCounters {
			p.Extended = l.extended
		}
		return // the group is optional, and nothing of it is read
	}
	fd, err := openDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		r.remember(dir, &listing{absent: true})
		return
	}
	if err != nil {
		delete(r.listings, dir)
		p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
		return
	}
	defer func() {
		if err := syscall.Close(fd); err != nil {
			p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
		}
	}()
	if l == nil {
		names, err := readDirFd(fd, dir)
		if err != nil {
			delete(r.listings, dir)
			p.Errors = append(p.Errors, FileError{Path: rel(g.String()), Err: err})
			return
		}
		l = &listing{}
		for _, name := range names {
			if g == GroupCounters && (strings.HasPrefix(name, "unicast_") || strings.HasPrefix(name, "multicast_")) {
				l.extended = true
			}
			if r.Counter == nil || r.Counter(g, name) {
				l.names = append(l.names, name)
			}
		}
		r.remember(dir, l)
	}
	if g == GroupCounters {
		p.Extended = l.extended
	}
	for _, name := range l.names {
		b, err := r.readAt(fd, name)
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
		if errors.Is(err, fs.ErrNotExist) {
			l.stale = true // list the directory again at the next scrape
		}
		p.Errors = append(p.Errors, FileError{Path: rel(g.String() + "/" + name), Err: err})
	}
}

// openDir opens a directory for openat and getdents, without the os.File
// around it (its poller registration and finaliser).
func openDir(dir string) (int, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// readDirFd lists the open directory fd, sorted; "." and ".." left out.
func readDirFd(fd int, dir string) ([]string, error) {
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		for err == syscall.EINTR {
			n, err = syscall.ReadDirent(fd, buf)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: err}
		}
		if n <= 0 {
			break
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
	sort.Strings(names)
	return names, nil
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
