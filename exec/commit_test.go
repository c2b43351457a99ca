package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestBatchRules checks E1–E3.
func TestBatchRules(t *testing.T) {
	p := defaultParams()
	p.maxBatch = 3
	c := newCluster(t, 31, p)
	x := c.execs[0]
	a := c.clients[0]
	req := c.kvRequest(a, put("k", "v"))
	expectReject(t, x, in(spec.KindBatch, &spec.Batch{}), spec.CodeEmptyBatch)                                             // E1 (0)
	expectReject(t, x, in(spec.KindBatch, &spec.Batch{Requests: []spec.Request{req, req, req, req}}), spec.CodeBatchLimit) // E1
	bi, _ := batchInput(req)
	expectAccept(t, x, bi)
	expectReject(t, x, bi, spec.CodeDuplicate) // E2
	for i := 1; i < int(2*p.l); i++ {
		r := c.request(a, uint64(1000+i), c.sealOp(a, uint64(1000+i), []byte{1}))
		b, _ := batchInput(r)
		expectAccept(t, x, b)
	}
	if b, _, _, _, _ := x.StoreSizes(); b != int(2*p.l) {
		t.Fatalf("%d batches stored, want %d", b, 2*p.l)
	}
	last, _ := batchInput(c.request(a, 5000, c.sealOp(a, 5000, []byte{1})))
	expectReject(t, x, last, spec.CodeStoreFull) // E3
	// Executing a stored batch frees its place.
	c.step(0, c.commitInputs(0, 1, spec.BatchDigest(&spec.Batch{Requests: []spec.Request{req}}))...)
	expectAccept(t, x, last)
}

// TestStoreFullNeededBatch checks E3's second half: in a store full of batches that
// nothing committed names, a batch that a committed sequence number needs is still
// accepted, and it displaces the unneeded batch with the lowest (storedAt, digest).
func TestStoreFullNeededBatch(t *testing.T) {
	p := defaultParams()
	c := newCluster(t, 33, p)
	x := c.execs[0]
	a := c.clients[0]
	var stored []spec.Input
	var digests []spec.Digest
	for i := range int(2 * p.l) {
		b, d := batchInput(c.request(a, uint64(1000+i), c.sealOp(a, uint64(1000+i), []byte{1})))
		expectAccept(t, x, b)
		stored, digests = append(stored, b), append(digests, d)
	}
	needed, nd := batchInput(c.kvRequest(a, put("k", "v")))
	expectReject(t, x, needed, spec.CodeStoreFull) // not needed yet: E3
	outs := c.step(0, c.commitInputs(0, 1, nd)...) // committed[1] = nd, batch missing
	if st := status(t, outs); len(st.NeedBatch) != 1 || st.NeedBatch[0] != nd {
		t.Fatalf("NeedBatch = %x, want [%x]", st.NeedBatch, nd)
	}
	c.checkReplies(t, expectAccept(t, x, needed), 0, 0, wantResult{a.id, 1, 0, ""})
	victim := 0
	for i, d := range digests {
		if bytes.Compare(d[:], digests[victim][:]) < 0 {
			victim = i
		}
	}
	for i, b := range stored {
		if i != victim {
			expectReject(t, x, b, spec.CodeDuplicate) // still stored
		}
	}
	expectAccept(t, x, stored[victim]) // it was the one evicted
}

// TestCommitRules checks E4–E9, each failing exactly its line.
func TestCommitRules(t *testing.T) {
	c := newCluster(t, 32, defaultParams())
	x := c.execs[0]
	a := c.clients[0]
	// Execute seq 1 so that lastExec = 1; store conf 0's commit for seq 2.
	c.checkReplies(t, c.order(0, 1, c.kvRequest(a, put("k", "v"))), 0, 0, wantResult{a.id, 1, 0, ""})
	d := spec.Digest{7}
	cm := func(r, v, s uint64, d spec.Digest) spec.Input {
		m := c.commit(r, v, s, d)
		return in(spec.KindCommit, &m)
	}
	expectAccept(t, x, cm(0, 0, 2, d))
	signed := func(keys []ed25519.PrivateKey, domain string, signer, r uint64) spec.Input {
		body := spec.Slot{View: 0, Seq: 2, Digest: d, Replica: r}
		return in(spec.KindCommit, &spec.Commit{Body: body, Sig: c.sign(keys[signer], domain, &body)})
	}
	cases := []struct {
		name  string
		input spec.Input
		code  uint64
	}{
		{"E4 replica n", signed(c.conf, "splitbft/v1/commit", 0, 4), spec.CodeUnknownSender},
		{"E4 replica huge", signed(c.conf, "splitbft/v1/commit", 0, 1<<40), spec.CodeUnknownSender},
		{"E5 seq 0", cm(1, 0, 0, d), spec.CodeStale},
		{"E5 executed", cm(1, 0, 1, d), spec.CodeStale},
		{"E5 above window", cm(1, 0, 41, d), spec.CodeOutOfWindow},
		{"E5 far above", cm(1, 0, 1<<63, d), spec.CodeOutOfWindow},
		{"E6 prep key", signed(c.prep, "splitbft/v1/commit", 1, 1), spec.CodeBadSignature},
		{"E6 prepare domain", signed(c.conf, "splitbft/v1/prepare", 1, 1), spec.CodeBadSignature},
		{"E6 other sender's key", signed(c.conf, "splitbft/v1/commit", 2, 1), spec.CodeBadSignature},
		{"E8 conflict", cm(0, 0, 2, spec.Digest{8}), spec.CodeConflict},
		{"E9 duplicate", cm(0, 0, 2, d), spec.CodeDuplicate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, tc.input, tc.code) })
	}
	// E7: a higher view replaces; the lower one is then stale; in the same view another
	// digest conflicts and the same commit is a duplicate.
	expectAccept(t, x, cm(0, 3, 2, spec.Digest{9}))
	if want := fmt.Sprintf("commit s=2 r=0 v=3 d=%x", []byte{9, 0, 0, 0, 0, 0, 0, 0}); !strings.Contains(x.DebugState(), want) {
		t.Fatalf("higher-view commit did not replace:\n%s", x.DebugState())
	}
	expectReject(t, x, cm(0, 2, 2, d), spec.CodeStale)
	expectReject(t, x, cm(0, 0, 2, d), spec.CodeStale)
	expectReject(t, x, cm(0, 3, 2, d), spec.CodeConflict)
	expectReject(t, x, cm(0, 3, 2, spec.Digest{9}), spec.CodeDuplicate)
}
