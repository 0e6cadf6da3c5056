//go:build !linux

package rest

import "net"

// growReceiveBuffer is a Linux workaround (see rcvbuf_linux.go); elsewhere
// the connection is left as dialled.
func growReceiveBuffer(net.Conn, int) error { return nil }
