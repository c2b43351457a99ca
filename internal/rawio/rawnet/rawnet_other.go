//go:build !linux || enclave

// Package rawnet is rawio for TCP connections (see rawnet_linux.go).
package rawnet

import "net"

// Conn returns c: this build does no raw I/O.
func Conn(c net.Conn) net.Conn { return c }
