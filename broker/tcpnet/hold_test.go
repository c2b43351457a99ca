package tcpnet

import "testing"

// signalled reports whether q's consumer has a wake-up pending, consuming it.
func signalled(q *queue) bool {
	select {
	case <-q.ready:
		return true
	default:
		return false
	}
}

// TestOutHold: while the event loop holds, frames are queued at once but their
// queues are signalled only at a release, once each; after the burst, a push
// signals at once; a full queue still refuses.
func TestOutHold(t *testing.T) {
	var o outHold
	a, b := newQueue(2, 1<<10), newQueue(8, 1<<10)
	if !o.push(a, []byte("x")) || !signalled(a) {
		t.Fatal("not holding: a push must signal at once")
	}
	a.take()
	o.begin()
	for i, q := range []*queue{a, a, b} {
		if !o.push(q, []byte{byte(i)}) {
			t.Fatalf("push %d refused", i)
		}
	}
	if o.push(a, []byte("over")) {
		t.Fatal("a full queue accepted a frame while held")
	}
	if signalled(a) || signalled(b) {
		t.Fatal("a held queue was signalled before the release")
	}
	if a.len() != 2 || b.len() != 1 {
		t.Fatalf("queued %d and %d frames, want 2 and 1 (frames are queued at once)", a.len(), b.len())
	}
	o.release(false) // before a Step call: still holding afterwards
	if !signalled(a) || !signalled(b) || len(o.held) != 0 {
		t.Fatal("release did not signal every held queue")
	}
	o.push(b, []byte("y"))
	if signalled(b) {
		t.Fatal("still in the burst: the push must be held")
	}
	o.release(true)
	if !signalled(b) {
		t.Fatal("the end of the burst did not signal")
	}
	a.take()
	o.push(a, []byte("z"))
	if !signalled(a) {
		t.Fatal("after the burst a push must signal at once")
	}
}
