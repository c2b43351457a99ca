package conformance

import "github.com/splitbft/splitbft/spec"

// execCases are the single-step vectors of the Execution compartment (SPEC.md §11),
// plus the shared ones of §8. Unless a case says otherwise the compartment under test
// is exec 1; COMMITs come from the confs of replicas 0, 2 and 3 (q = 3).
func execCases() []Case {
	var cs []Case
	cs = append(cs, execBatchCases()...)
	cs = append(cs, execCommitCases()...)
	cs = append(cs, executionCases()...)
	cs = append(cs, execConfigCases()...)
	cs = append(cs, execNewViewCases()...)
	cs = append(cs, stateServeCases()...)
	cs = append(cs, stateChunkCases()...)
	cs = append(cs, execReadCases()...)
	cs = append(cs, execEpochCases()...)
	cs = append(cs, execRecoverCases()...)
	cs = append(cs, execReplayCases()...)
	cs = append(cs, commonCases(spec.RoleExec)...)
	return withRole(spec.RoleExec, cs)
}

// commits returns COMMIT inputs for (v, n, d) from the confs of replicas.
func (g *Gen) commits(v, n uint64, d spec.Digest, replicas ...uint64) []spec.Input {
	var ins []spec.Input
	for _, r := range replicas {
		ins = append(ins, inCommit(g.Commit(v, n, d, r)))
	}
	return ins
}

// commitSlot is Slot{v, n, d, r}.
func commitSlot(v, n uint64, d spec.Digest, r uint64) spec.Slot {
	return spec.Slot{View: v, Seq: n, Digest: d, Replica: r}
}

// digestOf is BatchDigest(b).
func digestOf(b spec.Batch) spec.Digest { return spec.BatchDigest(&b) }

// manyBatches returns n distinct single-request batch inputs.
func (g *Gen) manyBatches(n int) []spec.Input {
	var ins []spec.Input
	for i := 0; i < n; i++ {
		ins = append(ins, inBatch(g.batchOf(i%len(g.clients), uint64(1+i))))
	}
	return ins
}

func execBatchCases() []Case {
	return []Case{
		{Name: "E-batch-accept", Rule: "E3", Replica: 1,
			Comment: "a batch with nothing committed is stored; nothing emitted",
			Build: func(g *Gen) {
				g.Final(inBatch(g.batchOf(0, 1)))
				g.Accept()
			}},
		{Name: "E1-empty", Rule: "E1", Replica: 1,
			Comment: "the empty batch (the null batch is never delivered: it needs no batch)",
			Build: func(g *Gen) {
				g.Final(inBatch(spec.Batch{}))
				g.Reject(spec.CodeEmptyBatch)
			}},
		{Name: "E1-too-many", Rule: "E1", Replica: 1,
			Comment: "a batch of 17 requests (MaxBatchRequests = 16)",
			Build: func(g *Gen) {
				g.Final(inBatch(g.manyRequests(17)))
				g.Reject(spec.CodeBatchLimit)
			}},
		{Name: "E1-limit-accept", Rule: "E1", Replica: 1,
			Comment: "a batch of exactly 16 requests is stored",
			Build: func(g *Gen) {
				g.Final(inBatch(g.manyRequests(16)))
				g.Accept()
			}},
		{Name: "E2-duplicate", Rule: "E2", Replica: 1,
			Comment: "the same batch twice",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b))
				g.Final(inBatch(b))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "E2-before-E3", Rule: "E2", Replica: 1,
			Comment: "E2 precedes E3: with 2L = 32 batches stored, one of them again is a duplicate",
			Build: func(g *Gen) {
				ins := g.manyBatches(32)
				g.Setup(ins...)
				g.Final(ins[5])
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "E3-store-full", Rule: "E3", Replica: 1,
			Comment: "2L = 32 batches stored; a 33rd is refused",
			Build: func(g *Gen) {
				g.Setup(g.manyBatches(32)...)
				g.Final(inBatch(g.batchOf(2, 1000)))
				g.Reject(spec.CodeStoreFull)
			}},
		{Name: "E3-room-after-execution", Rule: "E3", Replica: 1,
			Comment: "32 batches stored, the first executed at seq 1 (and removed): a 33rd is stored",
			Build: func(g *Gen) {
				ins := g.manyBatches(32)
				g.Setup(ins...)
				var b spec.Batch
				if err := spec.Decode(ins[0].Body, &b, spec.MaxMessageBytes); err != nil {
					panic(err)
				}
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2, 3)...)
				g.Final(inBatch(g.batchOf(2, 1000)))
				g.Accept()
			}},
		{Name: "E3-needed-batch-displaces", Rule: "E3", Replica: 1,
			Comment: "2L = 32 unneeded batches stored, then q COMMITs for seq 1 name a 33rd: it is stored (evicting the lowest (storedAt, digest) unneeded batch) and executes",
			Build: func(g *Gen) {
				g.Setup(g.manyBatches(32)...)
				b := g.batchOf(2, 1000)
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2, 3)...)
				g.Final(inBatch(b))
				g.Accept(spec.KindReply)
			}},
		{Name: "A4-batch-bad-nonce", Rule: "A4", Replica: 1,
			Comment: "a batch whose request carries a 23-byte nonce does not decode",
			Build: func(g *Gen) {
				b := spec.Encode(ptr(g.batchOf(0, 1)))
				// 81 (batch) 81 (requests) 82 (request) 83 (body) 18 64 (client) 01 (ts) 81 (ops) 82 58 18 <nonce>
				i := 9
				if b[i] != 0x58 || b[i+1] != 0x18 {
					panic("conformance: unexpected batch encoding")
				}
				mut := cat(b[:i], []byte{0x57}, b[i+2:i+2+23], b[i+2+24:])
				g.Final(raw(spec.KindBatch, mut))
				g.Reject(spec.CodeMalformed)
			}},
	}
}

func execCommitCases() []Case {
	d, d2 := tag("batch-a"), tag("batch-b")
	return []Case{
		{Name: "E-commit-accept", Rule: "E9", Replica: 1,
			Comment: "a valid commit alone is stored; nothing emitted",
			Build: func(g *Gen) {
				g.Final(inCommit(g.Commit(0, 1, d, 2)))
				g.Accept()
			}},
		{Name: "E4-unknown-sender", Rule: "E4", Replica: 1,
			Comment: "a commit naming replica 4 (n = 4)",
			Build: func(g *Gen) {
				g.Final(inCommit(g.commitAs(commitSlot(0, 1, d, 4), spec.RoleConf, 0, spec.DomainCommit)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "E4-before-E5", Rule: "E4", Replica: 1,
			Comment: "E4 precedes E5: replica 4 at seq 0",
			Build: func(g *Gen) {
				g.Final(inCommit(g.commitAs(commitSlot(0, 0, d, 4), spec.RoleConf, 0, spec.DomainCommit)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "E5-seq-zero", Rule: "E5", Replica: 1,
			Comment: "a commit for seq 0",
			Build: func(g *Gen) {
				g.Final(inCommit(g.Commit(0, 0, d, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E5-beyond-window", Rule: "E5", Replica: 1,
			Comment: "a commit for seq 17 > h + L",
			Build: func(g *Gen) {
				g.Final(inCommit(g.Commit(0, 17, d, 2)))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "E5-executed", Rule: "E5", Replica: 1,
			Comment: "seq 1 executed (lastExec = 1 > h = 0); a commit for seq 1 from conf 1 is stale",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Setup(inBatch(b))
				g.Setup(g.commits(0, 1, digestOf(b), 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 1, digestOf(b), 1)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E5-executed-null", Rule: "E5", Replica: 1,
			Comment: "seq 1 committed the null batch and executed at once; a commit for seq 1 is stale",
			Build: func(g *Gen) {
				g.Setup(g.commits(0, 1, spec.NullBatchDigest(), 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 1, spec.NullBatchDigest(), 1)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E5-at-stable", Rule: "E5", Replica: 1,
			Comment: "checkpoint 4 stable (exec behind); a commit for seq 4 is stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 4, d, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E5-beyond-moved-window", Rule: "E5", Replica: 1,
			Comment: "checkpoint 4 stable; a commit for seq 21 > 4 + L",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 21, d, 2)))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "E5-moved-window-accept", Rule: "E5", Replica: 1,
			Comment: "checkpoint 4 stable; a commit for seq 20 = 4 + L is stored",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 20, d, 2)))
				g.Accept()
			}},
		{Name: "E5-before-E6", Rule: "E5", Replica: 1,
			Comment: "E5 precedes E6: seq 17 with a corrupted signature is out-of-window",
			Build: func(g *Gen) {
				c := g.Commit(0, 17, d, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCommit(c))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "E6-flipped", Rule: "E6", Replica: 1,
			Comment: "a commit whose signature is corrupted",
			Build: func(g *Gen) {
				c := g.Commit(0, 1, d, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCommit(c))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E6-prep-key", Rule: "E6", Replica: 1,
			Comment: "a commit signed by prep 2 instead of conf 2",
			Build: func(g *Gen) {
				g.Final(inCommit(g.commitAs(commitSlot(0, 1, d, 2), spec.RolePrep, 2, spec.DomainCommit)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E6-prepare-domain", Rule: "E6", Replica: 1,
			Comment: "a commit body signed by conf 2 under the prepare domain",
			Build: func(g *Gen) {
				g.Final(inCommit(g.commitAs(commitSlot(0, 1, d, 2), spec.RoleConf, 2, spec.DomainPrepare)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E6-other-signer", Rule: "E6", Replica: 1,
			Comment: "a commit naming replica 2 signed by conf 3",
			Build: func(g *Gen) {
				g.Final(inCommit(g.commitAs(commitSlot(0, 1, d, 2), spec.RoleConf, 3, spec.DomainCommit)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E6-other-cluster", Rule: "E6", Replica: 1,
			Comment: "a commit signed by conf 2 for another configuration digest",
			Build: func(g *Gen) {
				s := commitSlot(0, 1, d, 2)
				g.Final(inCommit(spec.Commit{Body: s, Sig: g.signOtherCluster(spec.RoleConf, 2, spec.DomainCommit, &s)}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E6-before-E7", Rule: "E6", Replica: 1,
			Comment: "E6 precedes E7: a lower-view commit with a corrupted signature",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(1, 1, d, 2)))
				c := g.Commit(0, 1, d, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCommit(c))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "E7-lower-view", Rule: "E7", Replica: 1,
			Comment: "conf 2's view-1 commit for seq 1 is stored; its view-0 commit for seq 1 is stale",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(1, 1, d, 2)))
				g.Final(inCommit(g.Commit(0, 1, d, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E7-before-E8", Rule: "E7", Replica: 1,
			Comment: "E7 precedes E8: a lower-view commit with another digest is stale",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(1, 1, d, 2)))
				g.Final(inCommit(g.Commit(0, 1, d2, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "E7-higher-view-accept", Rule: "E7", Replica: 1,
			Comment: "conf 2's view-0 commit for seq 1 is stored; its view-1 commit with another digest replaces it",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(0, 1, d, 2)))
				g.Final(inCommit(g.Commit(1, 1, d2, 2)))
				g.Accept()
			}},
		{Name: "E8-conflict", Rule: "E8", Replica: 1,
			Comment: "conf 2's commit (0, 1, D) is stored; (0, 1, D') from it conflicts",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(0, 1, d, 2)))
				g.Final(inCommit(g.Commit(0, 1, d2, 2)))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "E8-after-replace", Rule: "E8", Replica: 1,
			Comment: "conf 2's (0, 1, D) was replaced by (1, 1, D'); (1, 1, D) conflicts",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(0, 1, d, 2)), inCommit(g.Commit(1, 1, d2, 2)))
				g.Final(inCommit(g.Commit(1, 1, d, 2)))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "E9-duplicate", Rule: "E9", Replica: 1,
			Comment: "the same commit twice",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(0, 1, d, 2)))
				g.Final(inCommit(g.Commit(0, 1, d, 2)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "E9-after-replace", Rule: "E9", Replica: 1,
			Comment: "conf 2's (0, 1, D) was replaced by (1, 1, D); (1, 1, D) again is a duplicate",
			Build: func(g *Gen) {
				g.Setup(inCommit(g.Commit(0, 1, d, 2)), inCommit(g.Commit(1, 1, d, 2)))
				g.Final(inCommit(g.Commit(1, 1, d, 2)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "E9-committed-not-executed", Rule: "E9", Replica: 1,
			Comment: "seq 1 committed but its batch is missing; conf 0's commit again is a duplicate",
			Build: func(g *Gen) {
				g.Setup(g.commits(0, 1, d, 0, 2, 3)...)
				g.Final(inCommit(g.Commit(0, 1, d, 0)))
				g.Reject(spec.CodeDuplicate)
			}},
	}
}
