package testkit

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback host:port nothing listens on, for a process
// the test starts with a --web.listen-address. The port is free when
// FreeAddr returns; another process could take it before the child binds,
// which the kernel makes unlikely by not reusing a just-closed port soon.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}
