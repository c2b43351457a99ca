package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds exec's checkpoint and state-transfer cases (SPEC.md §11.5–§11.7,
// T1–T7). The snapshot an exec certifies is computed here from the spec alone
// (§11.5, §12.6), independently of any implementation: a vector whose fixture
// checkpoints carry this digest only works if the exec computed the same snapshot.

// runScenario sets up seqs 1..4 at the exec under test (commits from 0, 2, 3):
//
//	seq 1: [client 100 ts 1 put(a, 1); client 101 ts 1 (put(b, 2), get(a))]
//	seq 2: the null batch
//	seq 3: [client 100 ts 2 delete(a); client 102 ts 5 one undecryptable op]
//	seq 4: [client 100 ts 1 again (older: nothing); client 101 ts 1 again (re-sent);
//	        client 100 ts 3 cas(c absent → 3)]
//
// so that executing seq 4 emits reply, reply, reply, checkpoint, and the snapshot is
// scenarioSnapshot(). If last is false the last commit of seq 4 is left out and
// returned as the input that completes it.
func (g *Gen) runScenario(last bool) spec.Input {
	r0 := g.Request(0, 1, PutOp("a", "1"))
	r1 := g.Request(1, 1, PutOp("b", "2"), GetOp("a"))
	b1 := batch(r0, r1)
	b3 := batch(g.Request(0, 2, DelOp("a")), g.undecryptable(2, 5))
	b4 := batch(r0, r1, g.Request(0, 3, CASAbsentOp("c", "3")))
	g.Setup(inBatch(b1), inBatch(b3), inBatch(b4))
	g.Setup(g.commits(0, 1, digestOf(b1), 0, 2, 3)...)
	g.Setup(g.commits(0, 2, spec.NullBatchDigest(), 0, 2, 3)...)
	g.Setup(g.commits(0, 3, digestOf(b3), 0, 2, 3)...)
	final := inCommit(g.Commit(0, 4, digestOf(b4), 3))
	if last {
		g.Setup(append(g.commits(0, 4, digestOf(b4), 0, 2), final)...)
	} else {
		g.Setup(g.commits(0, 4, digestOf(b4), 0, 2)...)
	}
	return final
}

// scenarioSnapshot is enc(Snapshot) after runScenario, derived by hand from §11.5 and
// §12.6:
//
//   - kv: a=1 (seq 1), b=2 (seq 1), a deleted (seq 3), c=3 (seq 4) → {b: 2, c: 3};
//   - client 100: last executed ts 3 (cas OK, empty value);
//   - client 101: ts 1, results [put OK, get OK "1"] (re-sending changes nothing);
//   - client 102: ts 5, [undecryptable].
func scenarioSnapshot() []byte {
	kv := spec.KVSnapshot{Entries: []spec.KVEntry{
		{Key: []byte("b"), Value: []byte("2")},
		{Key: []byte("c"), Value: []byte("3")},
	}}
	snap := spec.Snapshot{Seq: 4, App: spec.Encode(&kv), Clients: []spec.ClientEntry{
		{Client: 100, Timestamp: 3, Results: []spec.Result{{Status: spec.StatusOK}}},
		{Client: 101, Timestamp: 1, Results: []spec.Result{{Status: spec.StatusOK}, {Status: spec.StatusOK, Value: []byte("1")}}},
		{Client: 102, Timestamp: 5, Results: []spec.Result{{Status: spec.StatusUndecryptable}}},
	}}
	return spec.Encode(&snap)
}

// scenarioDigest is StateDigest(scenarioSnapshot()).
func scenarioDigest() spec.Digest { return spec.StateDigest(scenarioSnapshot()) }

// nullSnapshot is enc(Snapshot) after executing only null batches up to seq 4.
func nullSnapshot() []byte {
	return spec.Encode(&spec.Snapshot{Seq: 4, App: spec.Encode(&spec.KVSnapshot{})})
}

// serving sets up an exec that executed the scenario and whose own checkpoint (4, D)
// became stable with the fixture checkpoints of execs 0 and 2.
func (g *Gen) serving() {
	g.runScenario(true)
	g.Setup(g.cps(4, scenarioDigest(), 0, 2)...)
}

// behind sets up an exec at lastExec 0 that learnt the stable checkpoint (4, D) from
// the execs of 0, 2 and 3.
func (g *Gen) behind(state spec.Digest) {
	g.Setup(g.cps(4, state, 0, 2, 3)...)
}

// stateKey is HKDF(secret = g, salt = cd, info = state-key) (§12.4).
func (g *Gen) stateKey() []byte { return hkdf32(g.group, g.CD[:], []byte(spec.LabelStateKey)) }

// chunkAD is the associated data of a state chunk (§12.4).
func (g *Gen) chunkAD(seq uint64, state spec.Digest, index, count, size uint64) []byte {
	return labelAD(spec.LabelStateAD, g.CD, spec.U64(seq), state[:], spec.U64(index), spec.U64(count), spec.U64(size))
}

// chunk seals plain as chunk index of a snapshot (seq, state, count, size).
func (g *Gen) chunk(seq uint64, state spec.Digest, index, count, size uint64, plain []byte) spec.StateChunk {
	n := g.nonce()
	return spec.StateChunk{Seq: seq, State: state, Index: index, Count: count, Size: size, Nonce: n,
		Ciphertext: seal(g.stateKey(), n, plain, g.chunkAD(seq, state, index, count, size))}
}

// wholeChunk is the single chunk of snapshot snap at (4, state).
func (g *Gen) wholeChunk(state spec.Digest, snap []byte) spec.StateChunk {
	return g.chunk(4, state, 0, 1, uint64(len(snap)), snap)
}

func inChunk(c spec.StateChunk) spec.Input      { return In(spec.KindStateChunk, &c) }
func inStateReq(r spec.StateRequest) spec.Input { return In(spec.KindStateRequest, &r) }

func stateServeCases() []Case {
	D := scenarioDigest()
	return []Case{
		{Name: "X-scenario-checkpoint", Rule: "E9", Replica: 1,
			Comment: "the scenario's seq 4 executes on its last commit: re-sent reply (client 101's two-operation request), reply (client 100's cas), CHECKPOINT",
			Build: func(g *Gen) {
				g.Final(g.runScenario(false))
				g.Accept(spec.KindReply, spec.KindReply, spec.KindCheckpoint)
			}},
		{Name: "CP5-own-checkpoint", Rule: "CP5", Replica: 1,
			Comment: "the exec stored its own CHECKPOINT (4, D) when it produced it; the same checkpoint delivered is a duplicate — D is the snapshot digest computed from §11.5",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Final(inCP(g.Checkpoint(4, D, 1)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "CP6-own-checkpoint", Rule: "CP6", Replica: 1,
			Comment: "the exec stored its own CHECKPOINT for 4; one signed with its key for another state conflicts",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Final(inCP(g.Checkpoint(4, nullSnapshotDigest(), 1)))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "CP5-own-null-checkpoint", Rule: "CP5", Replica: 1,
			Comment: "null batches 1..4: the exec's own checkpoint carries StateDigest(enc(Snapshot{4, enc(KVSnapshot{}), []})); delivered again it is a duplicate",
			Build: func(g *Gen) {
				for n := uint64(1); n <= 4; n++ {
					g.commitNull(n)
				}
				g.Final(inCP(g.Checkpoint(4, nullSnapshotDigest(), 1)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "T-stable-own-accept", Rule: "CP7", Replica: 1,
			Comment: "after the scenario, checkpoints (4, D) from execs 0 and 2 make the exec's own checkpoint stable",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Setup(inCP(g.Checkpoint(4, D, 0)))
				g.Final(inCP(g.Checkpoint(4, D, 2)))
				g.Accept()
			}},
		{Name: "T-request-accept", Rule: "T3", Replica: 1,
			Comment: "the exec holds the stable snapshot (4, D): a state-request for chunk 0 gets the single chunk",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 0, Index: 0}))
				g.Accept(spec.KindStateChunk)
			}},
		{Name: "T-serve-after-new-view", Rule: "T2", Replica: 1,
			Comment: "the exec executed to 4 (own checkpoint not yet stable); a NEW-VIEW whose best view-change carries the certificate (4, D) makes snapshots[4] the stable snapshot (§8.4, §11.6): a state-request is served",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.CheckpointCert(4, D, 0, 2, 3))))))
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 3}))
				g.Accept(spec.KindStateChunk)
			}},
		{Name: "T1-unknown-sender", Rule: "T1", Replica: 1,
			Comment: "a state-request from replica 4",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 4}))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "T1-before-T2", Rule: "T1", Replica: 1,
			Comment: "T1 precedes T2: replica 4 asking for a snapshot the exec does not hold",
			Build: func(g *Gen) {
				g.Final(inStateReq(spec.StateRequest{Seq: 8, State: D, Replica: 4}))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "T2-other-seq", Rule: "T2", Replica: 1,
			Comment: "the stable snapshot is (4, D); a request for Seq 8",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 8, State: D, Replica: 0}))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T2-other-state", Rule: "T2", Replica: 1,
			Comment: "the stable snapshot is (4, D); a request for (4, D')",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: tag("state-b"), Replica: 0}))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T2-not-held", Rule: "T2", Replica: 1,
			Comment: "(4, D) is stable by fixture checkpoints but the exec never executed to 4: it holds no snapshot",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 0}))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T2-own-unstable-snapshot", Rule: "T2", Replica: 1,
			Comment: "the exec executed to 4 (own snapshot kept) but the checkpoint is not stable here (h = 0): T2's second case serves it",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 0}))
				g.Accept(spec.KindStateChunk)
			}},
		{Name: "T2-own-unstable-other-state", Rule: "T2", Replica: 1,
			Comment: "the exec holds its own unstable snapshot (4, D); a request for (4, D') is stale",
			Build: func(g *Gen) {
				g.runScenario(true)
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: tag("state-b"), Replica: 0}))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T2-before-T3", Rule: "T2", Replica: 1,
			Comment: "T2 precedes T3: wrong Seq and Index 5",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 8, State: D, Replica: 0, Index: 5}))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T3-index", Rule: "T3", Replica: 1,
			Comment: "the snapshot is one chunk (Count 1); a request for Index 1",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inStateReq(spec.StateRequest{Seq: 4, State: D, Replica: 0, Index: 1}))
				g.Reject(spec.CodeBadChunk)
			}},
	}
}

// nullSnapshotDigest is StateDigest(nullSnapshot()).
func nullSnapshotDigest() spec.Digest { return spec.StateDigest(nullSnapshot()) }
