//go:build linux && !enclave

package rawio

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Enabled reports whether this build does raw I/O (Linux, not an enclave build).
const Enabled = true

// File returns a reader and writer for f, which must be a pipe or socket the Go
// poller manages in non-blocking mode (an end from os.Pipe), with raw reads and
// writes; f itself otherwise. Closing the result closes f. f.Fd must not be called
// afterwards: it puts the descriptor back in blocking mode, where a raw read would
// hold its thread and P in the kernel.
func File(f *os.File) io.ReadWriteCloser {
	if f.SetDeadline(time.Time{}) != nil { // not in the poller
		return f
	}
	rc, err := f.SyscallConn()
	if err != nil || !nonblocking(rc) {
		return f
	}
	return &file{f: f, rc: rc}
}

// Std returns File of a new non-blocking open file description of the pipe behind f
// (os.Stdin or os.Stdout, from the parent process), reopened through /proc/self/fd so
// that the parent and anyone else holding the pipe keep their own blocking mode; f
// itself if that fails. f is left as it is, and should not be used afterwards.
func Std(f *os.File) io.ReadWriteCloser {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	var fd, flags uintptr
	var errno syscall.Errno
	if rc.Control(func(sysfd uintptr) {
		fd = sysfd
		flags, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, sysfd, syscall.F_GETFL, 0)
	}) != nil || errno != 0 {
		return f
	}
	// Only a pipe: reopening one of its ends gives a new description of the same pipe
	// with the same access mode.
	var st syscall.Stat_t
	if syscall.Fstat(int(fd), &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return f
	}
	mode := int(flags) & syscall.O_ACCMODE
	nfd, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(int(fd)), mode|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return f
	}
	g := os.NewFile(uintptr(nfd), f.Name())
	if r := File(g); r != io.ReadWriteCloser(g) {
		return r
	}
	g.Close()
	return f
}

// nonblocking reports whether rc's descriptor is in non-blocking mode.
func nonblocking(rc syscall.RawConn) bool {
	var flags uintptr
	var errno syscall.Errno
	if rc.Control(func(fd uintptr) { flags, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) }) != nil {
		return false
	}
	return errno == 0 && flags&syscall.O_NONBLOCK != 0
}

type file struct {
	f  *os.File
	rc syscall.RawConn
}

func (p *file) Read(b []byte) (int, error) {
	n, errno, err := Read(p.rc, b)
	switch {
	case err != nil:
		return 0, p.pathError("read", err)
	case errno != 0:
		return 0, p.pathError("read", errno)
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (p *file) Write(b []byte) (int, error) {
	n, errno, err := Write(p.rc, b)
	switch {
	case err != nil:
		return n, p.pathError("write", err)
	case errno != 0:
		return n, p.pathError("write", errno)
	}
	return n, nil
}

// pathError is err as os.File reports it: a *os.PathError naming the operation, whose
// cause is os.ErrClosed after Close and os.ErrDeadlineExceeded past a deadline. err
// from the RawConn is already a *os.PathError ("raw-read"); its cause is kept, and a
// closing descriptor is reported as os.ErrClosed as os.File does.
func (p *file) pathError(op string, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if err != os.ErrDeadlineExceeded && err != os.ErrClosed && !isErrno(err) {
		err = os.ErrClosed // the poller's "use of closed file": the only other error it gives
	}
	return &os.PathError{Op: op, Path: p.f.Name(), Err: err}
}

func isErrno(err error) bool {
	_, ok := err.(syscall.Errno)
	return ok
}

func (p *file) Close() error { return p.f.Close() }

// Read reads once into b (nothing for an empty b) through rc, waiting in the poller
// while there is nothing to read: the byte count, the system call's error number,
// and the poller's error (closed, deadline).
func Read(rc syscall.RawConn, b []byte) (int, syscall.Errno, error) {
	if len(b) == 0 {
		return 0, 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, errno = sysRead(fd, b)
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

// Write writes all of b through rc, waiting in the poller while the descriptor's
// buffer is full: as Read, with the bytes written before any error.
func Write(rc syscall.RawConn, b []byte) (int, syscall.Errno, error) {
	done := 0
	var errno syscall.Errno
	err := rc.Write(func(fd uintptr) bool {
		for done < len(b) {
			n, e := sysWrite(fd, b[done:])
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
