package nodelocal

import (
	"errors"
	"syscall"
)

// maxSmallFile bounds readSmall: /proc/PID/cgroup is one line on cgroup v2
// and a dozen on v1.
const maxSmallFile = 16 << 10

// readSmall reads a small /proc or cgroupfs file with plain open/read/close.
// os.ReadFile also fstats the file and tries to register it with the
// poller, which tripled the cost per file when the agent reads
// /proc/PID/cgroup for every GPU process on every scrape.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd) // read-only: a failing close loses nothing
	b, _, err := readFD(fd, buf)
	return b, err
}

// readFD reads fd into buf until end of file, or until buf is full (full
// is then true: the file may go on).
func readFD(fd int, buf []byte) (b []byte, full bool, err error) {
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if m == 0 {
			return buf[:n], false, nil
		}
		n += m
	}
	return buf, true, nil
}
