//go:build linux && !enclave

package rawnet

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// payload returns n pseudo-random bytes from a fixed seed (the same on every run).
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// tcpPair returns both ends of a loopback TCP connection, the dialled one wrapped.
func tcpPair(t *testing.T) (client net.Conn, server net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return Conn(c), Conn(s)
}

// TestConnStream: a megabyte each way at once over a wrapped TCP connection, then
// io.EOF after the peer closes.
func TestConnStream(t *testing.T) {
	c, s := tcpPair(t)
	if _, ok := c.(*conn); !ok {
		t.Fatalf("Conn(*net.TCPConn) = %T, want raw I/O on this platform", c)
	}
	up, down := payload(1<<20, 1), payload(1<<20+7, 2)
	errc := make(chan error, 2)
	go func() {
		_, err := c.Write(up)
		errc <- err
	}()
	go func() {
		_, err := s.Write(down)
		errc <- err
	}()
	gotUp := make([]byte, len(up))
	gotDown := make([]byte, len(down))
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(s, gotUp)
		done <- err
	}()
	if _, err := io.ReadFull(c, gotDown); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server read: %v", err)
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatal("bytes changed in transit")
	}
	s.Close()
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed = %d, %v; want 0, io.EOF", n, err)
	}
}

// TestConnDeadlines: a read with nothing to read and a write the peer never drains
// end at their deadlines with errors that say so, as net.TCPConn's do.
func TestConnDeadlines(t *testing.T) {
	c, _ := tcpPair(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 8))
	checkTimeout(t, "read", err)

	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20)) // more than both socket buffers
	checkTimeout(t, "write", err)
	if n < 0 || n >= 64<<20 {
		t.Fatalf("write reports %d bytes written before its deadline, want fewer than all", n)
	}
}

func checkTimeout(t *testing.T, op string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s past its deadline: %v, want a net.Error with Timeout() and os.ErrDeadlineExceeded", op, err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op {
		t.Fatalf("%s past its deadline: %#v, want a *net.OpError for %q", op, err, op)
	}
}

// TestConnClosed: reading or writing a closed connection fails with net.ErrClosed,
// and writing to a connection the peer reset fails; neither blocks.
func TestConnClosed(t *testing.T) {
	c, s := tcpPair(t)
	c.Close()
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	s.SetWriteDeadline(time.Now().Add(5 * time.Second))
	var err error
	for i := 0; i < 100 && err == nil; i++ { // the first write may still be accepted
		_, err = s.Write(make([]byte, 4096))
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writes to a closed peer: %v, want a connection error", err)
	}
}
