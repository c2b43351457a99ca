package tcpnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
)

// addAny attaches id to fc with no key, as in insecure mode (the registry checks no
// key), and returns the connection to close, if any.
func addAny(g *clientRegistry, fc *frontConn, id uint64, max int) *frontConn {
	old, _ := g.add(fc, id, nil, max)
	return old
}

// TestRegistryDetachChoice: a client over its connection limit is detached from one
// of its other connections, the oldest that carries it alone if any, else the
// oldest; never from the one it just attached to. A connection left with no client
// is returned for closing, and a queue's bounds follow the clients it carries.
func TestRegistryDetachChoice(t *testing.T) {
	var g clientRegistry
	g.init()
	conn := func(string) *frontConn { return &frontConn{ids: map[uint64]attachment{}, q: newQueue(10, 100)} }
	shared1, alone, shared2, fresh := conn("shared1"), conn("alone"), conn("shared2"), conn("fresh")
	for _, c := range []*frontConn{shared1, alone, shared2} {
		if addAny(&g, c, 7, 3) != nil {
			t.Fatal("a connection closed within the limit")
		}
	}
	addAny(&g, shared1, 8, 3)
	addAny(&g, shared2, 9, 3)
	if shared1.q.maxLen != 20 || shared1.q.maxBytes != 200 {
		t.Fatalf("a queue of two clients has bounds %d/%d, want 20/200", shared1.q.maxLen, shared1.q.maxBytes)
	}
	// Client 7 is on shared1 (oldest), alone, shared2; a fourth connection must push
	// it off "alone", which carries it alone, though shared1 is older.
	if old := addAny(&g, fresh, 7, 3); old != alone {
		t.Fatalf("detached from %p, want the connection that carries the client alone (%p)", old, alone)
	}
	if _, ok := alone.ids[7]; ok || g.attached(alone, 7) {
		t.Fatal("the client is still attached to the connection it was detached from")
	}
	// Now 7 is on shared1, shared2 and fresh, which carries it alone: a fourth
	// connection pushes it off fresh, which is left with no client and is returned.
	if old := addAny(&g, conn("another"), 7, 3); old != fresh {
		t.Fatalf("returned %p, want fresh (%p), left with no client", old, fresh)
	}
	// With every other connection shared, the oldest attach goes, and that
	// connection stays (and its queue shrinks to one client's bounds).
	var h clientRegistry
	h.init()
	a, b, c, d := conn("a"), conn("b"), conn("c"), conn("d")
	for _, x := range []*frontConn{a, b, c} {
		addAny(&h, x, 5, 3)
		addAny(&h, x, 6, 3)
	}
	if old := addAny(&h, d, 5, 3); old != nil {
		t.Fatalf("a shared connection was returned for closing: %p", old)
	}
	if h.attached(a, 5) || !h.attached(a, 6) || !h.attached(b, 5) || !h.attached(d, 5) {
		t.Fatal("want client 5 detached from the oldest connection, a, and only from it")
	}
	if a.q.maxLen != 10 || a.q.maxBytes != 100 {
		t.Fatalf("a carries one client now, its queue bounds are %d/%d, want 10/100", a.q.maxLen, a.q.maxBytes)
	}
}

// testKey is a deterministic public key named by what.
func testKey(what string) ed25519.PublicKey {
	seed := sha256.Sum256([]byte("tcpnet-registry-" + what))
	return ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
}

// TestRegistryRekey: replacing the registered keys detaches every client attached
// under a key they no longer register for it (removed, or registered again with
// another key) and returns for closing the connections whose hello's key they no
// longer register, and those left with no client; an attach checked against the
// old keys and added after the replacement is refused.
func TestRegistryRekey(t *testing.T) {
	k100, k101, k102, k103, k103b := testKey("100"), testKey("101"), testKey("102"), testKey("103"), testKey("103b")
	all := newClientSet(map[uint64]ed25519.PublicKey{100: k100, 101: k101, 102: k102, 103: k103})
	var g clientRegistry
	g.init()
	if closing, n := g.rekey(all, nil); len(closing) != 0 || n != 0 {
		t.Fatalf("rekey of an empty registry: %d to close, %d dropped", len(closing), n)
	}
	conn := func(hello uint64, key ed25519.PublicKey) *frontConn {
		return &frontConn{hello: hello, key: key, ids: map[uint64]attachment{}, q: newQueue(10, 100)}
	}
	mustAdd := func(fc *frontConn, id uint64, key ed25519.PublicKey) {
		t.Helper()
		if old, ok := g.add(fc, id, key, 4); old != nil || !ok {
			t.Fatalf("attach %d: closing %p, ok %v", id, old, ok)
		}
	}
	a := conn(100, k100) // carries 100 (hello), 101, 103
	mustAdd(a, 100, k100)
	mustAdd(a, 101, k101)
	mustAdd(a, 103, k103)
	b := conn(101, k101) // carries 101 (hello), 102
	mustAdd(b, 101, k101)
	mustAdd(b, 102, k102)
	c := conn(102, k102) // its hello 102 was pushed out; carries 103 only
	mustAdd(c, 103, k103)
	// 101 removed, 103 registered again with another key.
	closing, n := g.rekey(newClientSet(map[uint64]ed25519.PublicKey{100: k100, 102: k102, 103: k103b}), nil)
	if n != 5 {
		t.Errorf("dropped %d attachments, want 5 (101 and 103 from a, 101 and 102 from b, 103 from c)", n)
	}
	want := map[*frontConn]bool{b: true, c: true}
	if len(closing) != 2 || !want[closing[0]] || !want[closing[1]] {
		t.Errorf("closing %v, want b (its hello 101 removed) and c (left with no client) = %p, %p", closing, b, c)
	}
	if !g.attached(a, 100) || g.attached(a, 101) || g.attached(a, 103) || g.count(b) != 0 || g.count(c) != 0 {
		t.Fatalf("after rekey: a carries %v, b %v, c %v; want a: 100 only, b and c nothing", a.ids, b.ids, c.ids)
	}
	if a.q.maxLen != 10 {
		t.Errorf("a carries one client, its queue bound is %d, want 10", a.q.maxLen)
	}
	if len(g.byID) != 1 || len(g.byID[100]) != 1 {
		t.Errorf("registry by id: %v, want client 100 on a only", g.byID)
	}
	// An attach verified under the old key of 103, added after the rekey, is refused;
	// under its new key it is accepted.
	if old, ok := g.add(a, 103, k103, 4); ok || old != nil || g.attached(a, 103) {
		t.Fatal("an attach under a key no longer registered was accepted")
	}
	mustAdd(a, 103, k103b)
	// Removing the hello's client closes the connection even while others are attached.
	closing, n = g.rekey(newClientSet(map[uint64]ed25519.PublicKey{103: k103b}), nil)
	if len(closing) != 1 || closing[0] != a || n != 2 || g.count(a) != 0 || len(g.byID) != 0 {
		t.Fatalf("removing a's hello: closing %v, dropped %d, a carries %v; want a closed with both its clients detached", closing, n, a.ids)
	}
}
