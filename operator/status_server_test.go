package operator

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestLimitListener: beyond n open connections, an accepted connection is closed at
// once; closing a served one frees its slot.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitListener(inner, 2)
	defer l.Close()
	served := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			served <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	next := func(what string) net.Conn {
		select {
		case c := <-served:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not served within 5s", what)
			return nil
		}
	}
	dial()
	first := next("the first connection")
	dial()
	next("the second connection")
	third := dial()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if _, err := third.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a third connection was not closed at accept: %v", err)
	}
	first.Close()
	dial()
	next("a connection after one slot was freed")
}
