package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the state-chunk cases of the Execution compartment (§11.7, T4–T7).

func stateChunkCases() []Case {
	D := scenarioDigest()
	snap := scenarioSnapshot()
	size := uint64(len(snap))
	const big = 1<<20 + 10 // a two-chunk snapshot size: chunk 1 has 10 bytes
	return []Case{
		{Name: "T-chunk-accept", Rule: "T7", Replica: 1,
			Comment: "an exec behind at (4, D) receives the single chunk of the snapshot of §11.5: restored; emits its CHECKPOINT and the transfer summary",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Accept(spec.KindCheckpoint, spec.KindTransferSummary)
			}},
		{Name: "T-chunk-then-execute", Rule: "T7", Replica: 1,
			Comment: "seq 5 committed with its batch while behind; the chunk restores (4, D) incl. the client table, then seq 5 executes: client 100's ts-2 request is old (nothing), client 102's ts-6 request replies",
			Build: func(g *Gen) {
				g.behind(D)
				b5 := batch(g.Request(0, 2, GetOp("b")), g.Request(2, 6, GetOp("c")))
				g.Setup(inBatch(b5))
				g.Setup(g.commits(0, 5, digestOf(b5), 0, 2, 3)...)
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Accept(spec.KindCheckpoint, spec.KindTransferSummary, spec.KindReply)
			}},
		{Name: "T-chunk-after-new-view", Rule: "T4", Replica: 1,
			Comment: "the exec adopted (4, D) from a NEW-VIEW's checkpoint certificate and is behind: the chunk restores it",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.CheckpointCert(4, D, 0, 2, 3))))))
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Accept(spec.KindCheckpoint, spec.KindTransferSummary)
			}},
		{Name: "T-chunk-null-snapshot", Rule: "T7", Replica: 1,
			Comment: "behind at (4, D0) where D0 certifies the empty snapshot of seq 4: its chunk is accepted",
			Build: func(g *Gen) {
				g.behind(nullSnapshotDigest())
				g.Final(inChunk(g.wholeChunk(nullSnapshotDigest(), nullSnapshot())))
				g.Accept(spec.KindCheckpoint, spec.KindTransferSummary)
			}},
		{Name: "T-digest-mismatch", Rule: "T7", Replica: 1,
			Comment: "behind at (4, D): a well-sealed chunk of another snapshot (the empty one) completes, does not hash to D: digest-mismatch",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.wholeChunk(D, nullSnapshot())))
				g.Reject(spec.CodeDigestMismatch)
			}},
		{Name: "T-malformed-snapshot", Rule: "T7", Replica: 1,
			Comment: "q execs certified the digest of bytes that are not a Snapshot; the chunk hashes right but does not decode: digest-mismatch",
			Build: func(g *Gen) {
				junk := []byte("not a snapshot")
				g.behind(spec.StateDigest(junk))
				g.Final(inChunk(g.wholeChunk(spec.StateDigest(junk), junk)))
				g.Reject(spec.CodeDigestMismatch)
			}},
		{Name: "T4-not-behind", Rule: "T4", Replica: 1,
			Comment: "a fresh exec (h = 0 = lastExec) is not behind",
			Build: func(g *Gen) {
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T4-caught-up", Rule: "T4", Replica: 1,
			Comment: "the transfer completed; the same chunk again is stale",
			Build: func(g *Gen) {
				g.behind(D)
				c := g.wholeChunk(D, snap)
				g.Setup(inChunk(c))
				g.Final(inChunk(c))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T4-executed-itself", Rule: "T4", Replica: 1,
			Comment: "the exec executed to 4 and its checkpoint is stable: not behind",
			Build: func(g *Gen) {
				g.serving()
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T4-other-seq", Rule: "T4", Replica: 1,
			Comment: "behind at (4, D); a chunk for Seq 8",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(8, D, 0, 1, size, snap)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T4-other-state", Rule: "T4", Replica: 1,
			Comment: "behind at (4, D); a chunk for (4, D')",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.wholeChunk(nullSnapshotDigest(), nullSnapshot())))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T4-before-T5", Rule: "T4", Replica: 1,
			Comment: "T4 precedes T5: not behind, and Count 0",
			Build: func(g *Gen) {
				g.Final(inChunk(g.chunk(4, D, 0, 0, size, snap)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "T5-size", Rule: "T5", Replica: 1,
			Comment: "Size 2^30 + 1 (with the matching Count 1025)",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 1025, 1<<30+1, snap)))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T5-count", Rule: "T5", Replica: 1,
			Comment: "Count 2 for a Size that needs one chunk",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 2, size, snap)))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T5-count-zero", Rule: "T5", Replica: 1,
			Comment: "Size 0 with Count 0 (Count must be max(1, 0) = 1)",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 0, 0, nil)))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T5-index", Rule: "T5", Replica: 1,
			Comment: "Index 1 with Count 1",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 1, 1, size, snap)))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T5-before-T7", Rule: "T5", Replica: 1,
			Comment: "T5 precedes T7: Count 2 for a small Size and a tampered ciphertext",
			Build: func(g *Gen) {
				g.behind(D)
				c := g.chunk(4, D, 0, 2, size, snap)
				c.Ciphertext[0] ^= 1
				g.Final(inChunk(c))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T6-duplicate", Rule: "T6", Replica: 1,
			Comment: "a two-chunk snapshot (Size 2^20 + 10): chunk 1 (10 bytes) is held; chunk 1 again",
			Build: func(g *Gen) {
				g.behind(D)
				c := g.chunk(4, D, 1, 2, big, make([]byte, 10))
				g.Setup(inChunk(c))
				g.Final(inChunk(c))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "T6-duplicate-other-content", Rule: "T6", Replica: 1,
			Comment: "chunk 1 is held; another (well-sealed) chunk 1 with other content is a duplicate too",
			Build: func(g *Gen) {
				g.behind(D)
				g.Setup(inChunk(g.chunk(4, D, 1, 2, big, make([]byte, 10))))
				g.Final(inChunk(g.chunk(4, D, 1, 2, big, []byte("0123456789"))))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "T6-before-T7", Rule: "T6", Replica: 1,
			Comment: "T6 precedes T7: chunk 1 is held; a tampered chunk 1 is a duplicate",
			Build: func(g *Gen) {
				g.behind(D)
				g.Setup(inChunk(g.chunk(4, D, 1, 2, big, make([]byte, 10))))
				c := g.chunk(4, D, 1, 2, big, make([]byte, 10))
				c.Ciphertext[0] ^= 1
				g.Final(inChunk(c))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "T6-partial-accept", Rule: "T6", Replica: 1,
			Comment: "chunk 1 of a two-chunk snapshot is accepted and held (incomplete: nothing emitted)",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 1, 2, big, make([]byte, 10))))
				g.Accept()
			}},
		{Name: "T7-tampered", Rule: "T7", Replica: 1,
			Comment: "the snapshot's chunk with one ciphertext bit changed",
			Build: func(g *Gen) {
				g.behind(D)
				c := g.wholeChunk(D, snap)
				c.Ciphertext[5] ^= 1
				g.Final(inChunk(c))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T7-short", Rule: "T7", Replica: 1,
			Comment: "the single chunk opens but has Size − 1 bytes",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 1, size, snap[:size-1])))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T7-long", Rule: "T7", Replica: 1,
			Comment: "the single chunk opens but has Size + 1 bytes",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 1, size, cat(snap, []byte{0}))))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T7-first-chunk-short", Rule: "T7", Replica: 1,
			Comment: "chunk 0 of a two-chunk snapshot must have 2^20 bytes; it has 10",
			Build: func(g *Gen) {
				g.behind(D)
				g.Final(inChunk(g.chunk(4, D, 0, 2, big, make([]byte, 10))))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T7-index-not-bound", Rule: "T7", Replica: 1,
			Comment: "a chunk sealed as Index 0 delivered as Index 1: the associated data differs, it does not open",
			Build: func(g *Gen) {
				g.behind(D)
				c := g.chunk(4, D, 0, 2, big, make([]byte, 10))
				c.Index = 1
				g.Final(inChunk(c))
				g.Reject(spec.CodeBadChunk)
			}},
		{Name: "T7-other-cluster", Rule: "T7", Replica: 1,
			Comment: "the chunk sealed under the state key and AD of another configuration digest",
			Build: func(g *Gen) {
				g.behind(D)
				cd := g.CD
				cd[0] ^= 1
				key := hkdf32(g.group, cd[:], []byte(spec.LabelStateKey))
				n := g.nonce()
				ad := labelAD(spec.LabelStateAD, cd, spec.U64(4), D[:], spec.U64(0), spec.U64(1), spec.U64(size))
				g.Final(inChunk(spec.StateChunk{Seq: 4, State: D, Count: 1, Size: size, Nonce: n, Ciphertext: seal(key, n, snap, ad)}))
				g.Reject(spec.CodeBadChunk)
			}},
	}
}
