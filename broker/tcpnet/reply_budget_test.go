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
	give := func(n int) bool { return rb.deliver(ch, make([]byte, n), 0, 1, 1000, &delivered, &dropped) }
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

// TestReplyBudgetPerSource: each source (replica) has its share of the budget, and
// one reply of a source is admitted when none of its waits, so a source that fills
// its share never crowds out another's reply.
func TestReplyBudgetPerSource(t *testing.T) {
	ch := make(chan []byte, 16)
	var rb replyBudget
	var delivered, dropped atomic.Uint64
	give := func(src, n int) bool { return rb.deliver(ch, make([]byte, n), src, 4, 4000, &delivered, &dropped) }
	if !give(3, 5000) || give(3, 1) {
		t.Fatal("source 3: one reply above its share admitted when none waits, then nothing more")
	}
	for src := range 3 {
		if !give(src, 600) || !give(src, 400) || give(src, 1) {
			t.Fatalf("source %d: its 1000-byte share is not its own (waiting %v)", src, rb.bytes)
		}
	}
	<-ch // the receiver takes source 3's reply
	if !give(3, 900) {
		t.Fatal("source 3: a reply within its share refused after its only one was taken")
	}
}
