package exec_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// wantResult is an expected reply: client, timestamp and result.
type wantResult struct {
	client, ts uint64
	status     uint64
	value      string
}

// checkReplies opens the replies of outs and compares them, in order, to want; it also
// checks each reply's Replica and View.
func (c *cluster) checkReplies(t *testing.T, outs []spec.Output, replica, view uint64, want ...wantResult) []openedReply {
	t.Helper()
	got := c.replies(t, outs)
	if len(got) != len(want) {
		t.Fatalf("%d replies, want %d:%s", len(got), len(want), describe(outs))
	}
	for i, w := range want {
		g := got[i]
		if g.rep.Client != w.client || g.rep.Timestamp != w.ts || g.rep.Replica != replica || g.rep.View != view ||
			g.res.Status != w.status || string(g.res.Value) != w.value {
			t.Fatalf("reply %d: got client %d ts %d replica %d view %d status %d value %q; want %+v",
				i, g.rep.Client, g.rep.Timestamp, g.rep.Replica, g.rep.View, g.res.Status, g.res.Value, w)
		}
	}
	return got
}

// TestHappyPath orders several batches of sealed kv requests from several clients on
// one exec across several steps and checks every reply as the clients open them.
func TestHappyPath(t *testing.T) {
	c := newCluster(t, 1, defaultParams())
	a, b := c.clients[0], c.clients[1]
	outs := c.order(0, 1, c.kvRequest(a, put("x", "1"), get("x")), c.kvRequest(b, get("x"), casAbsent("y", "b")))
	c.checkReplies(t, outs, 0, 0,
		wantResult{a.id, 1, spec.StatusOK, ""}, wantResult{a.id, 2, spec.StatusOK, "1"},
		wantResult{b.id, 1, spec.StatusOK, "1"}, wantResult{b.id, 2, spec.StatusOK, ""})
	outs = c.order(0, 2, c.kvRequest(a, casAbsent("y", "a"), del("x")), c.kvRequest(b, get("x"), get("y")))
	c.checkReplies(t, outs, 0, 0,
		wantResult{a.id, 3, spec.StatusCASMismatch, "b"}, wantResult{a.id, 4, spec.StatusOK, "1"},
		wantResult{b.id, 3, spec.StatusNotFound, ""}, wantResult{b.id, 4, spec.StatusOK, "b"})
	if st := status(t, outs); st.Last != 2 || st.Stable != 0 || st.NeedState || len(st.NeedBatch) != 0 || !st.Configured {
		t.Fatalf("status %+v", st)
	}
	// Sealed results: each exec seals under its own pairwise key, so exec 1 replies
	// differently but to the same effect.
	a.nextTS, b.nextTS = 1, 1
	outs = c.order(1, 1, c.kvRequest(a, put("x", "1"), get("x")))
	c.checkReplies(t, outs, 1, 0, wantResult{a.id, 1, spec.StatusOK, ""}, wantResult{a.id, 2, spec.StatusOK, "1"})
}

// TestOutOfOrder delivers commits and batches for sequence numbers 3, 2, 1 in reverse
// order and in separate steps: nothing executes until 1 is complete, then all three in
// sequence order.
func TestOutOfOrder(t *testing.T) {
	c := newCluster(t, 2, defaultParams())
	a := c.clients[0]
	r1, r2, r3 := c.kvRequest(a, put("k", "1")), c.kvRequest(a, put("k", "2")), c.kvRequest(a, get("k"))
	b1, d1 := batchInput(r1)
	b2, d2 := batchInput(r2)
	b3, d3 := batchInput(r3)
	steps := [][]spec.Input{
		c.commitInputs(0, 3, d3), {b3}, {b2}, c.commitInputs(0, 2, d2), c.commitInputs(0, 1, d1),
	}
	for i, ins := range steps {
		outs := c.step(0, ins...)
		if len(c.replies(t, outs)) != 0 || len(rejections(outs)) != 0 {
			t.Fatalf("step %d executed or rejected early:%s", i, describe(outs))
		}
	}
	st := status(t, c.step(0))
	if st.Last != 0 || len(st.NeedBatch) != 1 || st.NeedBatch[0] != d1 {
		t.Fatalf("status before the last batch: %+v", st)
	}
	outs := c.step(0, b1)
	c.checkReplies(t, outs, 0, 0, wantResult{a.id, 1, 0, ""}, wantResult{a.id, 2, 0, ""}, wantResult{a.id, 3, 0, "2"})
	if st := status(t, outs); st.Last != 3 || len(st.NeedBatch) != 0 {
		t.Fatalf("status %+v", st)
	}
	if b, cm, cd, _, _ := c.execs[0].StoreSizes(); b != 0 || cm != 0 || cd != 0 {
		t.Fatalf("stores not emptied after execution: batches %d commits %d committed %d", b, cm, cd)
	}
}

// TestNullBatch executes a null batch (no batch input needed, no replies), then a real
// batch after it.
func TestNullBatch(t *testing.T) {
	c := newCluster(t, 3, defaultParams())
	a := c.clients[0]
	outs := c.step(0, c.commitInputs(0, 1, spec.NullBatchDigest())...)
	if len(ofKind(outs, spec.KindReply)) != 0 || len(rejections(outs)) != 0 || status(t, outs).Last != 1 {
		t.Fatalf("null batch:%s", describe(outs))
	}
	outs = c.order(0, 2, c.kvRequest(a, put("k", "v")))
	c.checkReplies(t, outs, 0, 0, wantResult{a.id, 1, 0, ""})
	// A null batch cannot be delivered as a batch.
	if r := rejections(c.step(0, in(spec.KindBatch, &spec.Batch{}))); len(r) != 1 || r[0].Code != spec.CodeEmptyBatch {
		t.Fatalf("null batch as input: %+v", r)
	}
}

// TestQuorumMinusOne checks that q−1 matching commits do not execute and the q-th does.
func TestQuorumMinusOne(t *testing.T) {
	c := newCluster(t, 4, defaultParams())
	a := c.clients[0]
	bi, d := batchInput(c.kvRequest(a, put("k", "v")))
	cms := c.commitInputs(0, 1, d)
	outs := c.step(0, append([]spec.Input{bi}, cms[:len(cms)-1]...)...)
	if len(ofKind(outs, spec.KindReply)) != 0 || status(t, outs).Last != 0 {
		t.Fatalf("executed on q−1 commits:%s", describe(outs))
	}
	outs = c.step(0, cms[len(cms)-1])
	c.checkReplies(t, outs, 0, 0, wantResult{a.id, 1, 0, ""})
}

// TestConflictingCommits checks that commits for different digests, or for one digest
// in different views, are not counted together, and that a sender's higher-view
// commit replaces its lower-view one.
func TestConflictingCommits(t *testing.T) {
	c := newCluster(t, 5, defaultParams())
	a := c.clients[0]
	b1, d1 := batchInput(c.kvRequest(a, put("k", "1")))
	b2, d2 := batchInput(c.kvRequest(c.clients[1], put("k", "2")))
	cm := func(r, v uint64, d spec.Digest) spec.Input { m := c.commit(r, v, 1, d); return in(spec.KindCommit, &m) }
	// Two for d1 and two for d2 in view 0: no quorum for either.
	outs := c.step(0, b1, b2, cm(0, 0, d1), cm(1, 0, d1), cm(2, 0, d2), cm(3, 0, d2))
	if len(ofKind(outs, spec.KindReply)) != 0 || len(rejections(outs)) != 0 {
		t.Fatalf("conflicting commits executed or were rejected:%s", describe(outs))
	}
	// Same sender, same view, other digest: conflict.
	if r := rejections(c.step(0, cm(0, 0, d2))); len(r) != 1 || r[0].Code != spec.CodeConflict {
		t.Fatalf("want conflict, got %+v", r)
	}
	// Sender 0 and 1 move to view 1 with d2: with 2 and 3 still in view 0 there is no
	// (View, Digest) quorum.
	outs = c.step(0, cm(0, 1, d2), cm(1, 1, d2))
	if len(ofKind(outs, spec.KindReply)) != 0 {
		t.Fatalf("mixed-view commits executed:%s", describe(outs))
	}
	// A lower view from sender 0 is now stale.
	if r := rejections(c.step(0, cm(0, 0, d1))); len(r) != 1 || r[0].Code != spec.CodeStale {
		t.Fatalf("want stale, got %+v", r)
	}
	outs = c.step(0, cm(2, 1, d2))
	c.checkReplies(t, outs, 0, 0, wantResult{c.clients[1].id, 1, 0, ""})
}

// TestDuplicateRequest re-orders an executed request (same timestamp) in a later
// batch: the cached results are re-sent with fresh nonces and nothing re-executes.
func TestDuplicateRequest(t *testing.T) {
	c := newCluster(t, 6, defaultParams())
	a := c.clients[0]
	req := c.kvRequest(a, casAbsent("k", "first"), get("k"))
	first := c.checkReplies(t, c.order(0, 1, req), 0, 0, wantResult{a.id, 1, 0, ""}, wantResult{a.id, 2, 0, "first"})
	_, before := c.execs[0].StateDigestAt()
	// Another client changes k; a re-execution of a's request would now give a
	// CAS mismatch and "other".
	c.order(0, 2, c.kvRequest(c.clients[1], put("k", "other")))
	again := c.checkReplies(t, c.order(0, 3, req), 0, 0, wantResult{a.id, 1, 0, ""}, wantResult{a.id, 2, 0, "first"})
	for i := range again {
		if again[i].rep.Nonce == first[i].rep.Nonce || bytes.Equal(again[i].rep.Ciphertext, first[i].rep.Ciphertext) {
			t.Fatalf("re-sent reply %d reuses the nonce", i)
		}
	}
	if _, after := c.execs[0].StateDigestAt(); after == before {
		t.Fatal("state digest unchanged after two more batches")
	}
	c.checkReplies(t, c.order(0, 4, c.kvRequest(a, get("k"))), 0, 0, wantResult{a.id, 3, 0, "other"})
	// The same request twice in one batch: executed once, then re-sent once.
	b := c.clients[2]
	r2 := c.kvRequest(b, casAbsent("z", "b"))
	c.checkReplies(t, c.order(0, 5, r2, r2), 0, 0, wantResult{b.id, 1, 0, ""}, wantResult{b.id, 1, 0, ""})
}

// TestOlderTimestamp checks that a request not newer than the last executed one is
// skipped (no reply, no execution) unless it is that exact request.
func TestOlderTimestamp(t *testing.T) {
	c := newCluster(t, 7, defaultParams())
	a := c.clients[0]
	old := c.kvRequest(a, put("k", "old"))                  // ts 1
	cur := c.kvRequest(a, put("k", "new"), put("j", "new")) // ts 2..3
	c.checkReplies(t, c.order(0, 1, old), 0, 0, wantResult{a.id, 1, 0, ""})
	c.checkReplies(t, c.order(0, 2, cur), 0, 0, wantResult{a.id, 2, 0, ""}, wantResult{a.id, 3, 0, ""})
	_, d := c.execs[0].StateDigestAt()
	// ts 1 < 2: skipped. ts 3 (inside the last request's range, but not its start): skipped.
	mid := c.request(a, 3, c.sealOp(a, 3, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("k"), Value: []byte("mid")})))
	// ts 2 with a different op count: skipped.
	short := c.request(a, 2, c.sealOp(a, 2, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("k"), Value: []byte("x")})))
	outs := c.order(0, 3, old, mid, short)
	if len(ofKind(outs, spec.KindReply)) != 0 || status(t, outs).Last != 3 {
		t.Fatalf("old requests answered:%s", describe(outs))
	}
	if _, d2 := c.execs[0].StateDigestAt(); d2 == d {
		t.Fatal("state digest did not move with lastExec") // the Snapshot carries Seq
	}
	c.checkReplies(t, c.order(0, 4, c.kvRequest(a, get("k"))), 0, 0, wantResult{a.id, 4, 0, "new"})
}

// TestUndecryptable checks that an op that does not open is a no-op with
// StatusUndecryptable and that the request's later ops still run; an op that opens but
// is not a kv op gives StatusBadOp.
func TestUndecryptable(t *testing.T) {
	c := newCluster(t, 8, defaultParams())
	a := c.clients[0]
	good0 := c.sealOp(a, 1, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("a"), Value: []byte("1")}))
	wrongTS := c.sealOp(a, 9, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("b"), Value: []byte("1")}))
	tampered := c.sealOp(a, 3, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("c"), Value: []byte("1")}))
	tampered.Ciphertext[0] ^= 1
	otherClient := c.sealOp(c.clients[1], 4, spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: []byte("d"), Value: []byte("1")}))
	garbage := c.sealOp(a, 5, []byte{0xff, 0xfe})
	good5 := c.sealOp(a, 6, spec.Encode(&spec.KVOp{Op: spec.KVGet, Key: []byte("a")}))
	req := c.request(a, 1, good0, wrongTS, tampered, otherClient, garbage, good5)
	c.checkReplies(t, c.order(0, 1, req), 0, 0,
		wantResult{a.id, 1, spec.StatusOK, ""}, wantResult{a.id, 2, spec.StatusUndecryptable, ""},
		wantResult{a.id, 3, spec.StatusUndecryptable, ""}, wantResult{a.id, 4, spec.StatusUndecryptable, ""},
		wantResult{a.id, 5, spec.StatusBadOp, ""}, wantResult{a.id, 6, spec.StatusOK, "1"})
	a.nextTS = 7
	c.checkReplies(t, c.order(0, 2, c.kvRequest(a, get("b"), get("c"), get("d"))), 0, 0,
		wantResult{a.id, 7, spec.StatusNotFound, ""}, wantResult{a.id, 8, spec.StatusNotFound, ""}, wantResult{a.id, 9, spec.StatusNotFound, ""})
}

// TestOneReplyPerRequest: a request of sixteen operations gets exactly one reply from
// each exec, carrying its last operation's timestamp, whose plaintext is the sixteen results in
// operation order (SPEC.md §11.5 step 3, §12.3); a duplicate of the request gets one
// reply again, with the cached results under a fresh nonce (step 1).
func TestOneReplyPerRequest(t *testing.T) {
	p := defaultParams()
	p.maxOps = 16
	c := newCluster(t, 3, p)
	a := c.clients[0]
	ops := make([]spec.KVOp, 16)
	want := make([]spec.Result, 16)
	for j := range ops {
		k := fmt.Sprintf("k%d", j/2)
		if j%2 == 0 {
			ops[j], want[j] = put(k, fmt.Sprintf("v%d", j)), spec.Result{Status: spec.StatusOK}
		} else {
			ops[j], want[j] = get(k), spec.Result{Status: spec.StatusOK, Value: []byte(fmt.Sprintf("v%d", j-1))}
		}
	}
	ops[15], want[15] = get("k0"), spec.Result{Status: spec.StatusOK, Value: []byte("v0")}
	req := c.kvRequest(a, ops...)
	var nonces []spec.Nonce
	for r := range c.n {
		for seq, again := range []bool{false, true} {
			got := c.replyLists(t, c.order(r, uint64(seq+1), req))
			if len(got) != 1 {
				t.Fatalf("exec %d (duplicate %v): %d replies to one request of 16 operations, want 1", r, again, len(got))
			}
			g := got[0]
			if g.rep.Client != a.id || g.rep.Timestamp != req.Body.Timestamp+15 || g.rep.Replica != r || g.rep.View != 0 { // the last operation's
				t.Fatalf("exec %d (duplicate %v): reply header %+v", r, again, g.rep)
			}
			if len(g.results) != len(want) {
				t.Fatalf("exec %d (duplicate %v): %d results, want %d", r, again, len(g.results), len(want))
			}
			for j := range want {
				if g.results[j].Status != want[j].Status || !bytes.Equal(g.results[j].Value, want[j].Value) {
					t.Fatalf("exec %d (duplicate %v): result %d is %+v, want %+v", r, again, j, g.results[j], want[j])
				}
			}
			if slices.Contains(nonces, g.rep.Nonce) {
				t.Fatalf("exec %d (duplicate %v): nonce reused", r, again)
			}
			nonces = append(nonces, g.rep.Nonce)
		}
	}
}
