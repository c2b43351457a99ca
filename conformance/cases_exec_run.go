package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the execution cases of SPEC.md §11.5: when an exec executes, and
// which replies and checkpoints it emits.

// commitBatch sets up batch b at seq n in view 0: the batch and all q commits.
func (g *Gen) commitBatch(n uint64, b spec.Batch) {
	g.Setup(inBatch(b))
	g.Setup(g.commits(0, n, digestOf(b), 0, 2, 3)...)
}

// commitNull sets up the null batch committed at seq n.
func (g *Gen) commitNull(n uint64) {
	g.Setup(g.commits(0, n, spec.NullBatchDigest(), 0, 2, 3)...)
}

// finishBatch stores b and 2 of 3 commits for seq n; the final input is the last
// commit.
func (g *Gen) finishBatch(n uint64, b spec.Batch) {
	g.Setup(inBatch(b))
	g.Setup(g.commits(0, n, digestOf(b), 0, 2)...)
	g.Final(inCommit(g.Commit(0, n, digestOf(b), 3)))
}

// undecryptable is a request of client ci at ts whose op is sealed for ts+1: the
// request key opens it only with the wrong associated data, so it never opens.
func (g *Gen) undecryptable(ci int, ts uint64) spec.Request {
	c := g.clients[ci]
	body := spec.RequestBody{Client: c.ID, Timestamp: ts, Ops: []spec.SealedOp{g.SealOp(c, ts+1, PutOp("x", "y"))}}
	return g.SignRequest(ci, body)
}

func executionCases() []Case {
	return []Case{
		{Name: "X-commit-executes", Rule: "E9", Replica: 1,
			Comment: "batch stored, commits from 0 and 2 stored; conf 3's commit completes q: one reply",
			Build: func(g *Gen) {
				g.finishBatch(1, g.batchOf(0, 1))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-batch-executes", Rule: "E3", Replica: 1,
			Comment: "q commits for seq 1 stored first (batch missing); the batch arrives: one reply",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2, 3)...)
				g.Final(inBatch(b))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-waits-for-batch", Rule: "E9", Replica: 1,
			Comment: "q commits for seq 1 without its batch: nothing executes",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2)...)
				g.Final(inCommit(g.Commit(0, 1, digestOf(b), 3)))
				g.Accept()
			}},
		{Name: "X-two-ops", Rule: "E9", Replica: 1,
			Comment: "a request with two operations: one reply, carrying both results",
			Build: func(g *Gen) {
				g.finishBatch(1, batch(g.Request(0, 1, PutOp("a", "1"), GetOp("a"))))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-two-requests", Rule: "E9", Replica: 1,
			Comment: "a batch of requests from two clients: one reply each, in batch order",
			Build: func(g *Gen) {
				g.finishBatch(1, batch(g.Request(0, 1, PutOp("a", "1")), g.Request(1, 1, GetOp("a"))))
				g.Accept(spec.KindReply, spec.KindReply)
			}},
		{Name: "X-null-batch", Rule: "E9", Replica: 1,
			Comment: "the null batch committed at seq 1 executes without a batch and emits nothing",
			Build: func(g *Gen) {
				g.Setup(g.commits(0, 1, spec.NullBatchDigest(), 0, 2)...)
				g.Final(inCommit(g.Commit(0, 1, spec.NullBatchDigest(), 3)))
				g.Accept()
			}},
		{Name: "X-after-null", Rule: "E9", Replica: 1,
			Comment: "null batch executed at seq 1; seq 2 then executes its batch: one reply",
			Build: func(g *Gen) {
				g.commitNull(1)
				g.finishBatch(2, g.batchOf(0, 1))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-in-order", Rule: "E9", Replica: 1,
			Comment: "seq 2 committed with its batch first; completing seq 1 executes 1 then 2: two replies",
			Build: func(g *Gen) {
				g.commitBatch(2, g.batchOf(1, 1))
				g.finishBatch(1, g.batchOf(0, 1))
				g.Accept(spec.KindReply, spec.KindReply)
			}},
		{Name: "X-gap-waits", Rule: "E9", Replica: 1,
			Comment: "seq 2 committed with its batch while seq 1 is not: nothing executes",
			Build: func(g *Gen) {
				g.finishBatch(2, g.batchOf(0, 1))
				g.Accept()
			}},
		{Name: "X-mixed-views", Rule: "E9", Replica: 1,
			Comment: "commits (view 0) from 0 and 2 and (view 1) from 3 for seq 1: no q with one (View, Digest), nothing executes",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b))
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2)...)
				g.Final(inCommit(g.Commit(1, 1, digestOf(b), 3)))
				g.Accept()
			}},
		{Name: "X-view-1", Rule: "E9", Replica: 1,
			Comment: "q view-1 commits (exec still in view 0) commit and execute seq 1",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b))
				g.Setup(g.commits(1, 1, digestOf(b), 0, 2)...)
				g.Final(inCommit(g.Commit(1, 1, digestOf(b), 3)))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-replaced-commit-counts", Rule: "E7", Replica: 1,
			Comment: "conf 3's view-0 commit is replaced by its view-1 commit; with view-1 commits of 0 and 2, seq 1 executes",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b), inCommit(g.Commit(0, 1, digestOf(b), 3)))
				g.Setup(g.commits(1, 1, digestOf(b), 0, 2)...)
				g.Final(inCommit(g.Commit(1, 1, digestOf(b), 3)))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-checkpoint", Rule: "E9", Replica: 1,
			Comment: "null batches at 1..3; executing seq 4 = K emits the reply, then the CHECKPOINT",
			Build: func(g *Gen) {
				g.commitNull(1)
				g.commitNull(2)
				g.commitNull(3)
				g.finishBatch(4, g.batchOf(0, 1))
				g.Accept(spec.KindReply, spec.KindCheckpoint)
			}},
		{Name: "X-checkpoint-null", Rule: "E9", Replica: 1,
			Comment: "null batches at 1..4: executing seq 4 emits only the CHECKPOINT",
			Build: func(g *Gen) {
				g.commitNull(1)
				g.commitNull(2)
				g.commitNull(3)
				g.Setup(g.commits(0, 4, spec.NullBatchDigest(), 0, 2)...)
				g.Final(inCommit(g.Commit(0, 4, spec.NullBatchDigest(), 3)))
				g.Accept(spec.KindCheckpoint)
			}},
		{Name: "X-resend-cached", Rule: "E9", Replica: 1,
			Comment: "request r executed at seq 1; seq 2's batch holds r again: its cached result is re-sent (one reply)",
			Build: func(g *Gen) {
				r := g.Request(0, 1, PutOp("a", "1"))
				g.commitBatch(1, batch(r, g.Request(1, 1, GetOp("a"))))
				g.finishBatch(2, batch(r))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-same-request-twice", Rule: "E9", Replica: 1,
			Comment: "a batch [r, r]: r executes (one reply), then its result is re-sent (one reply)",
			Build: func(g *Gen) {
				r := g.Request(0, 1, PutOp("a", "1"))
				g.finishBatch(1, batch(r, r))
				g.Accept(spec.KindReply, spec.KindReply)
			}},
		{Name: "X-older-request", Rule: "E9", Replica: 1,
			Comment: "client 100 executed timestamp 2; its request with timestamp 1 emits nothing",
			Build: func(g *Gen) {
				g.commitBatch(1, batch(g.Request(0, 2, PutOp("a", "1"))))
				g.finishBatch(2, batch(g.Request(0, 1, PutOp("a", "2"))))
				g.Accept()
			}},
		{Name: "X-same-timestamp-other-ops", Rule: "E9", Replica: 1,
			Comment: "client 100 executed (ts 1, one op); a request (ts 1, two ops) is not newer and not the same: nothing",
			Build: func(g *Gen) {
				g.commitBatch(1, batch(g.Request(0, 1, PutOp("a", "1"))))
				g.finishBatch(2, batch(g.Request(0, 1, PutOp("a", "1"), GetOp("a"))))
				g.Accept()
			}},
		{Name: "X-inside-last-request", Rule: "E9", Replica: 1,
			Comment: "client 100 executed (ts 1, two ops: timestamps 1, 2); a request at ts 2 is not newer: nothing",
			Build: func(g *Gen) {
				g.commitBatch(1, batch(g.Request(0, 1, PutOp("a", "1"), GetOp("a"))))
				g.finishBatch(2, batch(g.Request(0, 2, GetOp("a"))))
				g.Accept()
			}},
		{Name: "X-newer-request", Rule: "E9", Replica: 1,
			Comment: "client 100 executed (ts 1, two ops); a request at ts 3 is newer: one reply",
			Build: func(g *Gen) {
				g.commitBatch(1, batch(g.Request(0, 1, PutOp("a", "1"), GetOp("a"))))
				g.finishBatch(2, batch(g.Request(0, 3, GetOp("a"))))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-undecryptable", Rule: "E9", Replica: 1,
			Comment: "an operation that does not open with the request key still gets a reply (Result undecryptable)",
			Build: func(g *Gen) {
				g.finishBatch(1, batch(g.undecryptable(0, 1)))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-bad-op", Rule: "E9", Replica: 1,
			Comment: "a kv operation with an empty key gets a reply (Result bad-op)",
			Build: func(g *Gen) {
				g.finishBatch(1, batch(g.Request(0, 1, spec.Encode(&spec.KVOp{Op: spec.KVPut, Value: []byte("v")}))))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-no-signature-check", Rule: "E9", Replica: 1,
			Comment: "exec does not re-verify client signatures (§11.5): a committed request with a corrupted signature executes",
			Build: func(g *Gen) {
				r := g.Request(0, 1, PutOp("a", "1"))
				r.Sig = flip(r.Sig)
				g.finishBatch(1, batch(r))
				g.Accept(spec.KindReply)
			}},
		{Name: "X-one-batch-two-seqs", Rule: "E9", Replica: 1,
			Comment: "the same batch committed at seq 1 and seq 2 (stored once): it executes at both; the second time its request is re-sent",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b))
				g.Setup(g.commits(0, 2, digestOf(b), 0, 2, 3)...)
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2)...)
				g.Final(inCommit(g.Commit(0, 1, digestOf(b), 3)))
				g.Accept(spec.KindReply, spec.KindReply)
			}},
	}
}
