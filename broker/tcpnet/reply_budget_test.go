package tcpnet

import (
	"sync/atomic"
	"testing"
)

// TestReplyBudget: the replies waiting for a client are bounded in bytes as well as
// in number; what the receiver took no longer counts, and one reply is admitted when
// none waits, however large.
func TestReplyBudget(t *testing.T) {
	ch := make(chan []byte, 8)
	var rb replyBudget
	var delivered, dropped atomic.Uint64
	give := func(n int) bool { return rb.deliver(ch, make([]byte, n), 1000, &delivered, &dropped) }
	for i, tc := range []struct {
		n    int
		want bool
	}{{600, true}, {300, true}, {200, false}, {100, true}, {1, false}} {
		if got := give(tc.n); got != tc.want {
			t.Fatalf("step %d: %d bytes delivered %t, want %t (waiting %d bytes)", i, tc.n, got, tc.want, rb.bytes)
		}
	}
	<-ch // the receiver takes the 600-byte reply
	if !give(500) {
		t.Fatalf("600 bytes taken, 400 waiting: 500 more should fit")
	}
	for len(ch) > 0 {
		<-ch
	}
	if !give(5000) {
		t.Fatalf("a reply above the bound is refused although none waits")
	}
	if delivered.Load() != 5 || dropped.Load() != 2 {
		t.Fatalf("delivered %d dropped %d, want 5 and 2", delivered.Load(), dropped.Load())
	}
}
