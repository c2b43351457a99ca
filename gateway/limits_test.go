package gateway

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/splitbft/splitbft/exec/kv"
)

// startWith runs a gateway over a storeDoer with the given options.
func startWith(t *testing.T, opt Options) string {
	t.Helper()
	g, err := New(testConfig(), []Doer{&storeDoer{s: kv.New()}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Close)
	return l.Addr().String()
}

// pingOn sends PING on c and returns the reply line.
func pingOn(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// TestConnectionLimits checks SPEC.md §16.3 RB7: a connection beyond MaxConns is
// refused with Redis's error, a freed slot is reused, and an idle connection is
// closed after IdleTimeout.
func TestConnectionLimits(t *testing.T) {
	addr := startWith(t, Options{MaxConns: 1, IdleTimeout: 300 * time.Millisecond})
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	first, r1 := dial()
	if got := pingOn(t, first, r1); got != "+PONG\r\n" {
		t.Fatalf("first connection: %q", got)
	}
	second, r2 := dial()
	if got, _ := io.ReadAll(r2); string(got) != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second connection: %q", got)
	}
	second.Close()
	// The first connection is idle: the gateway closes it, and its slot is free again.
	if rest, err := io.ReadAll(r1); err != nil || len(rest) != 0 {
		t.Fatalf("idle connection: read %q, %v; want EOF", rest, err)
	}
	first.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		third, r3 := dial() // refused until the gateway released the idle connection's slot
		_, _ = third.Write([]byte("PING\r\n"))
		got, _ := r3.ReadString('\n')
		third.Close()
		if got == "+PONG\r\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", got)
		}
	}
}
