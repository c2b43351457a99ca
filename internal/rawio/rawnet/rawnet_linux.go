//go:build linux && !enclave

// Package rawnet is rawio for TCP connections: a net.Conn whose reads and writes are
// raw system calls on its non-blocking socket, waiting in the Go poller. It is a
// package of its own so that the compartments, which use rawio for their pipes, do
// not link the net package.
package rawnet

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/splitbft/splitbft/internal/rawio"
)

// Conn returns c with raw reads and writes if it is a *net.TCPConn; c otherwise.
// Everything but Read and Write (deadlines, addresses, Close) is c's own.
func Conn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &conn{TCPConn: tc, rc: rc}
}

type conn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *conn) Read(b []byte) (int, error) {
	n, errno, err := rawio.Read(c.rc, b)
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *conn) Write(b []byte) (int, error) {
	n, errno, err := rawio.Write(c.rc, b)
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// opError makes err look like net.TCPConn's own: an *net.OpError naming the
// operation, whose Timeout() reports a passed deadline. err from the RawConn is
// already an *net.OpError ("raw-read"); its cause is kept.
func (c *conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
