//go:build linux && !enclave

package rawio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// payload returns n seeded random bytes (the seed is printed on failure).
func payload(t *testing.T, n int) []byte {
	seed := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("payload seed %d", seed)
		}
	})
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// pump writes want to w in chunks of random sizes and closes it; it reports the
// first error on errc.
func pump(w io.WriteCloser, want []byte, errc chan<- error) {
	var err error
	for rest := want; len(rest) > 0 && err == nil; {
		n := min(len(rest), 1+len(rest)%70000)
		_, err = w.Write(rest[:n])
		rest = rest[n:]
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	errc <- err
}

// TestFilePipe sends more than a pipe holds through raw writes and reads: every byte
// arrives in order, writes wait while the pipe is full, and the reader sees io.EOF
// once the writer closed.
func TestFilePipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rr, ww := File(r), File(w)
	if Enabled {
		if _, ok := rr.(*file); !ok {
			t.Fatalf("File(pipe end) = %T, want raw I/O on this platform", rr)
		}
	}
	want := payload(t, 1<<20+123)
	errc := make(chan error, 1)
	go pump(ww, want, errc)
	got, err := io.ReadAll(rr)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	if n, err := rr.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
	rr.Close()
}

// TestStdBlockingPipe: a descriptor inherited in blocking mode (as a compartment's
// stdin is) is reopened non-blocking and read with raw calls.
func TestStdBlockingPipe(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(fds[0]), "stdin")
	w := os.NewFile(uintptr(fds[1]), "stdout")
	rr, ww := Std(r), Std(w)
	if nb, err := isNonblock(w); err != nil || nb {
		t.Fatalf("the original write descriptor is non-blocking = %v (%v): Std changed a mode others share", nb, err)
	}
	r.Close() // Std reopened the pipe: the writer's EOF needs both descriptions closed
	w.Close()
	if _, ok := rr.(*file); !ok {
		t.Fatalf("Std(blocking pipe) = %T, want raw I/O on this platform", rr)
	}
	if nb, err := isNonblock(rr.(*file).f); err != nil || !nb {
		t.Fatalf("read descriptor non-blocking = %v (%v), want true", nb, err)
	}
	want := payload(t, 300000)
	errc := make(chan error, 1)
	go pump(ww, want, errc)
	got, err := io.ReadAll(rr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(want))
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	rr.Close()
}

func isNonblock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var flags uintptr
	var errno syscall.Errno
	rc.Control(func(fd uintptr) { flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if errno != 0 {
		return false, errno
	}
	return flags&syscall.O_NONBLOCK != 0, nil
}

// TestFileAfterFd: a poller-managed descriptor that os.File.Fd put back in blocking
// mode is refused (a raw read on it would sleep in the kernel holding a P).
func TestFileAfterFd(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	_ = r.Fd()
	if rr := File(r); rr != io.ReadWriteCloser(r) {
		t.Fatalf("File of a blocking descriptor = %T, want the *os.File back", rr)
	}
}

// TestFileErrors: reads past a deadline and after Close fail as os.File's do.
func TestFileErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rr := File(r)
	r.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err = rr.Read(make([]byte, 1))
	var pe *os.PathError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &pe) || pe.Op != "read" {
		t.Errorf("read past its deadline: %#v, want a *os.PathError for read wrapping os.ErrDeadlineExceeded", err)
	}
	rr.Close()
	_, err = rr.Read(make([]byte, 1))
	_, want := r.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) || err.Error() != want.Error() {
		t.Errorf("read after Close: %v, want %v (os.ErrClosed)", err, want)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("write to a pipe whose reader closed succeeded")
	}
}

// TestRawReadLeavesProcessRunning: in a process with one P, a goroutine waiting in a
// raw read lets the others run (a timer fires and its write ends the wait).
func TestRawReadLeavesProcessRunning(t *testing.T) {
	if os.Getenv("RAWIO_ONE_P_CHILD") == "1" {
		runtime.GOMAXPROCS(1)
		r, w, _ := os.Pipe()
		rr := File(r)
		time.AfterFunc(100*time.Millisecond, func() { w.Write([]byte("x")) })
		if n, err := rr.Read(make([]byte, 1)); n != 1 || err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRawReadLeavesProcessRunning$")
	cmd.Env = append(os.Environ(), "RAWIO_ONE_P_CHILD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("child: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("a child with one P stalled in a raw read: its 100 ms timer never ran")
	}
}
