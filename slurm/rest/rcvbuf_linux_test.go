//go:build linux

package rest

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// sockopt reads an int socket option of a TCP connection.
func sockopt(t *testing.T, c net.Conn, opt int) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// TestDialTCPGrowsReceiveBuffer checks that a connection from dialTCP has
// a receive buffer raised to hold receiveWindow bytes where plain dialling
// leaves tcp_rmem's default, and a low-water mark back at 1 byte.
func TestDialTCPGrowsReceiveBuffer(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if err != nil {
		t.Skip(err)
	}
	f := strings.Fields(string(b))
	max, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatal(err)
	}
	if max/2 < receiveWindow {
		t.Skipf("tcp_rmem maximum %d caps the raise below %d", max, receiveWindow)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	grown, err := dialTCP(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer grown.Close()
	before, after := sockopt(t, plain, syscall.SO_RCVBUF), sockopt(t, grown, syscall.SO_RCVBUF)
	if before >= receiveWindow {
		t.Skipf("a new connection already has a %d-byte receive buffer", before)
	}
	if after < receiveWindow {
		t.Errorf("receive buffer %d bytes after dialTCP (plain dial: %d), want at least %d", after, before, receiveWindow)
	}
	if lowat := sockopt(t, grown, syscall.SO_RCVLOWAT); lowat != 1 {
		t.Errorf("SO_RCVLOWAT left at %d, want 1", lowat)
	}
}
