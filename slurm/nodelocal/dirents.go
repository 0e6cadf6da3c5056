package nodelocal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"syscall"
)

// direntBufSize is the getdents64 buffer of one listing: os.ReadDir's
// size; a cgroup directory (≈ 70 files and its children) fits in one or
// two calls.
const direntBufSize = 8 << 10

// listDir calls fn for each entry of the directory path but "." and "..",
// with the directory's descriptor (for *at calls), the entry's name (valid
// only during the call: it points into buf), its inode number and whether it is a directory (a DT_UNKNOWN entry is
// lstat'ed). It reads with getdents64 into buf, which the caller reuses
// across calls: os.ReadDir, which the agent listed the job cgroups with on
// every scrape, allocates a File, a DirEntry and a string per entry, tries
// to register the directory with the poller (one more syscall) and sorts.
// The inode tells a directory apart from an earlier one of the same name
// (a requeued job's cgroup).
func listDir(path string, buf []byte, fn func(dirfd int, name []byte, ino uint64, dir bool)) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd) // read-only: a failing close loses nothing
	for {
		n, err := syscall.Getdents(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "getdents", Path: path, Err: err}
		}
		if n <= 0 {
			return nil
		}
		err = parseDirents(buf[:n], func(name []byte, ino uint64, typ byte) {
			dir := typ == syscall.DT_DIR
			if typ == syscall.DT_UNKNOWN {
				var st syscall.Stat_t
				if syscall.Lstat(path+"/"+string(name), &st) != nil {
					return // removed meanwhile
				}
				dir = st.Mode&syscall.S_IFMT == syscall.S_IFDIR
			}
			fn(fd, name, ino, dir)
		})
		if err != nil {
			return &fs.PathError{Op: "getdents", Path: path, Err: err}
		}
	}
}

// parseDirents calls fn for each entry of one getdents64 answer (struct
// linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type,
// NUL-terminated d_name) but "." and "..", name pointing into b. The
// kernel's answer is trusted to be well formed, but a record that would
// read past b stops the parse with an error rather than a panic.
// golang.org/x/sys/unix.ParseDirent allocates a string per name and drops
// the inode and type, which are what the caller needs.
func parseDirents(b []byte, fn func(name []byte, ino uint64, typ byte)) error {
	for len(b) > 0 {
		if len(b) < 19 {
			return errors.New("malformed directory entry")
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			return errors.New("malformed directory entry")
		}
		ino := binary.NativeEndian.Uint64(b[0:8])
		typ := b[18]
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		b = b[reclen:]
		if string(name) == "." || string(name) == ".." {
			continue
		}
		fn(name, ino, typ)
	}
	return nil
}
