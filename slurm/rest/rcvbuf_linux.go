//go:build linux

package rest

import (
	"fmt"
	"net"
	"syscall"
)

// growReceiveBuffer raises a new TCP connection's receive buffer so that
// the window can open to about window bytes at once, without fixing its
// size (autotuning still grows it beyond).
//
// Why: Linux starts a connection's receive buffer at tcp_rmem's default
// (128 KiB) and grows it only when the reader drains more than the buffer
// holds within one round trip. A decoder is slower than loopback or a LAN,
// so the buffer is always full, the growth test never passes, and on most
// fresh connections (6 to 8 of 10 measured) the whole 778 MB jobs body of
// 100k jobs came 94 KB per read: 8,000 reads and wake-ups instead of 200,
// 1.45–1.75 s of CPU instead of 1.10–1.20 s (docs/performance.md, "Poll
// against the decoder alone"). A kept connection keeps its grown buffer,
// which is why only first polls (and replaced connections) paid it.
//
// How: setting SO_RCVLOWAT makes Linux (4.18+) raise the receive buffer to
// hold that many bytes, capped at half of tcp_rmem's maximum, and unlike
// SO_RCVBUF it neither locks the size against autotuning nor is capped by
// net.core.rmem_max (212,992 bytes on many hosts, which would make a
// locked buffer smaller than autotuning's). The low-water mark is then set
// back to 1, so reads wake as before; the raised buffer stays. Older
// kernels only set and reset the mark.
func growReceiveBuffer(c net.Conn, window int) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var reset error
	cerr := rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, window) != nil {
			return // not raised, nothing to undo
		}
		reset = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, 1)
	})
	if cerr == nil && reset != nil {
		// A low-water mark left at window would hold back the last
		// bytes of a body shorter than it: the connection is unusable.
		return fmt.Errorf("resetting SO_RCVLOWAT: %w", reset)
	}
	return nil
}
