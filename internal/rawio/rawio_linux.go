//go:build linux && !enclave

package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Enabled reports whether this build does raw I/O (Linux, not an enclave build).
const Enabled = true

// File returns a reader and writer for f, which must be a pipe or socket the Go
// poller already manages (an end from os.Pipe), with raw reads and writes; f itself
// if the poller does not manage it. Closing the result closes f.
func File(f *os.File) io.ReadWriteCloser {
	if f.SetDeadline(time.Time{}) != nil { // not in the poller
		return f
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	return &file{f: f, rc: rc}
}

// Std returns File of a duplicate of f's descriptor (os.Stdin or os.Stdout, a pipe
// from the parent process) switched to non-blocking mode; f itself if that fails. The
// mode is shared with f's descriptor, so f must not be used afterwards; f stays open
// (its descriptor number stays taken) until it is closed or collected.
func Std(f *os.File) io.ReadWriteCloser {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	fd := -1
	rc.Control(func(sysfd uintptr) { fd, err = syscall.Dup(int(sysfd)) })
	if err != nil {
		return f
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return f
	}
	g := os.NewFile(uintptr(fd), f.Name())
	if g.SetDeadline(time.Time{}) != nil { // not in the poller
		syscall.SetNonblock(fd, false)
		g.Close()
		return f
	}
	return File(g)
}

type file struct {
	f  *os.File
	rc syscall.RawConn
}

func (p *file) Read(b []byte) (int, error) {
	n, errno, err := read(p.rc, b)
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: p.f.Name(), Err: errno}
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (p *file) Write(b []byte) (int, error) {
	n, errno, err := write(p.rc, b)
	switch {
	case err != nil:
		return n, err
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: p.f.Name(), Err: errno}
	}
	return n, nil
}

func (p *file) Close() error { return p.f.Close() }

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
	n, errno, err := read(c.rc, b)
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
	n, errno, err := write(c.rc, b)
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

// read reads once into b (nothing for an empty b), waiting in the poller while
// there is nothing to read.
func read(rc syscall.RawConn, b []byte) (int, syscall.Errno, error) {
	if len(b) == 0 {
		return 0, 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	if errno != 0 {
		n = 0
	}
	return int(n), errno, err
}

// write writes all of b, waiting in the poller while the descriptor's buffer is full.
func write(rc syscall.RawConn, b []byte) (int, syscall.Errno, error) {
	done := 0
	var errno syscall.Errno
	err := rc.Write(func(fd uintptr) bool {
		for done < len(b) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[done])), uintptr(len(b)-done))
			switch e {
			case 0:
				done += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	return done, errno, err
}
