package tcpnet

import "testing"

// TestRegistryDetachChoice: a client over its connection limit is detached from one
// of its other connections, the oldest that carries it alone if any, else the
// oldest; never from the one it just attached to. A connection left with no client
// is returned for closing, and a queue's bounds follow the clients it carries.
func TestRegistryDetachChoice(t *testing.T) {
	var g clientRegistry
	g.init()
	conn := func(string) *frontConn { return &frontConn{ids: map[uint64]uint64{}, q: newQueue(10, 100)} }
	shared1, alone, shared2, fresh := conn("shared1"), conn("alone"), conn("shared2"), conn("fresh")
	for _, c := range []*frontConn{shared1, alone, shared2} {
		if g.add(c, 7, 3) != nil {
			t.Fatal("a connection closed within the limit")
		}
	}
	g.add(shared1, 8, 3)
	g.add(shared2, 9, 3)
	if shared1.q.maxLen != 20 || shared1.q.maxBytes != 200 {
		t.Fatalf("a queue of two clients has bounds %d/%d, want 20/200", shared1.q.maxLen, shared1.q.maxBytes)
	}
	// Client 7 is on shared1 (oldest), alone, shared2; a fourth connection must push
	// it off "alone", which carries it alone, though shared1 is older.
	if old := g.add(fresh, 7, 3); old != alone {
		t.Fatalf("detached from %p, want the connection that carries the client alone (%p)", old, alone)
	}
	if _, ok := alone.ids[7]; ok || g.attached(alone, 7) {
		t.Fatal("the client is still attached to the connection it was detached from")
	}
	// Now 7 is on shared1, shared2 and fresh, which carries it alone: a fourth
	// connection pushes it off fresh, which is left with no client and is returned.
	if old := g.add(conn("another"), 7, 3); old != fresh {
		t.Fatalf("returned %p, want fresh (%p), left with no client", old, fresh)
	}
	// With every other connection shared, the oldest attach goes, and that
	// connection stays (and its queue shrinks to one client's bounds).
	var h clientRegistry
	h.init()
	a, b, c, d := conn("a"), conn("b"), conn("c"), conn("d")
	for _, x := range []*frontConn{a, b, c} {
		h.add(x, 5, 3)
		h.add(x, 6, 3)
	}
	if old := h.add(d, 5, 3); old != nil {
		t.Fatalf("a shared connection was returned for closing: %p", old)
	}
	if h.attached(a, 5) || !h.attached(a, 6) || !h.attached(b, 5) || !h.attached(d, 5) {
		t.Fatal("want client 5 detached from the oldest connection, a, and only from it")
	}
	if a.q.maxLen != 10 || a.q.maxBytes != 100 {
		t.Fatalf("a carries one client now, its queue bounds are %d/%d, want 10/100", a.q.maxLen, a.q.maxBytes)
	}
}
