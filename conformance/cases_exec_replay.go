package conformance

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// This file holds exec's cases of the replay of a whole-cluster recovery (SPEC.md
// §17.8): the replay window (E5 as read while replaying), state chunks of the base
// (T4 as read while replaying), recovery votes (RW1–RW3), the recovery input (RC5),
// adopting C', and the inputs a replaying exec refuses (A2, A3). The exec under test
// is a fresh exec 1 (recoveryCase); the batches and COMMITs it replays are C's.

// recovering sets up an accepted recover with the plan of members 0 and 1 from base
// to head, and returns the template and the plan.
func (g *Gen) recovering(head uint64, base spec.CheckpointCert) (*spec.Config, spec.RecoveryPlan) {
	tmpl := g.RecoveryTemplate(head, nil)
	plan := g.RecoveryPlan(tmpl, base, 0, 1)
	g.Setup(g.RecoverInput(plan, g.SealedKey()))
	return tmpl, plan
}

// atGenesisHead sets up a replay whose head is its base (genesis): the exec has voted
// for next, returned with the plan.
func (g *Gen) atGenesisHead() (*spec.Config, spec.RecoveryPlan) {
	tmpl, plan := g.recovering(0, g.genesisBase())
	return RecoveryNext(tmpl, spec.StateDigest(genesisSnapshot())), plan
}

func inRecoveryVote(v spec.EpochVote) spec.Input { return In(spec.KindRecoveryVote, &v) }
func inRecovery(r spec.Recovery) spec.Input      { return In(spec.KindRecovery, &r) }

// commitSignedBy is a COMMIT of conf replica r for (0, n, d) signed with key under
// the current digest.
func (g *Gen) commitSignedBy(key ed25519.PrivateKey, n uint64, d spec.Digest, r uint64) spec.Commit {
	body := spec.Slot{Seq: n, Digest: d, Replica: r}
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(key, spec.SignedBytes(spec.DomainCommit, g.CD, spec.Encode(&body))))
	return spec.Commit{Body: body, Sig: sig}
}

func execReplayCases() []Case {
	var cs []Case
	cs = append(cs, replayWindowCases()...)
	cs = append(cs, replayChunkCases()...)
	cs = append(cs, recoveryVoteCases()...)
	cs = append(cs, recoveryInputCases()...)
	cs = append(cs, replayRefusesCases()...)
	return cs
}

func replayWindowCases() []Case {
	commitFinal := func(g *Gen, n uint64) { g.Final(inCommit(g.Commit(0, n, tag("b"), 2))) }
	return []Case{
		recoveryCase("RP-executes-silently", "E5", "replaying to head 4 from genesis: the commit completing seq 1 executes it without a reply",
			func(g *Gen) {
				g.recovering(4, g.genesisBase())
				g.finishBatch(1, g.batchOf(0, 1))
				g.Accept()
			}),
		recoveryCase("RP-head-votes", "E5", "replaying seqs 1..4 of runScenario to head 4: executing the head emits the recovery vote and no reply or checkpoint",
			func(g *Gen) {
				g.recovering(4, g.genesisBase())
				g.Final(g.runScenario(false))
				g.Accept(spec.KindRecoveryVote)
			}),
		recoveryCase("RP-out-of-window-head", "E5", "replaying to head 4: a commit for seq 5 is above the head",
			func(g *Gen) {
				g.recovering(4, g.genesisBase())
				commitFinal(g, 5)
				g.Reject(spec.CodeOutOfWindow)
			}),
		recoveryCase("RP-out-of-window-L", "E5", "replaying to head 20 from genesis (L = 16): a commit for seq 17",
			func(g *Gen) {
				g.recovering(20, g.genesisBase())
				commitFinal(g, 17)
				g.Reject(spec.CodeOutOfWindow)
			}),
		recoveryCase("RP-in-window-L", "E5", "replaying to head 20 from genesis (L = 16): a commit for seq 16 is stored",
			func(g *Gen) {
				g.recovering(20, g.genesisBase())
				commitFinal(g, 16)
				g.Accept()
			}),
		recoveryCase("RP-stale-base", "E5", "replaying from base (4, D) (not installed): a commit for seq 4",
			func(g *Gen) {
				g.recovering(8, g.base4())
				commitFinal(g, 4)
				g.Reject(spec.CodeStale)
			}),
		recoveryCase("RP-stale-executed", "E5", "replaying: seq 1 executed; another conf's commit for seq 1",
			func(g *Gen) {
				g.recovering(4, g.genesisBase())
				b := g.batchOf(0, 1)
				g.commitBatch(1, b)
				g.Final(inCommit(g.Commit(0, 1, digestOf(b), 1)))
				g.Reject(spec.CodeStale)
			}),
		recoveryCase("RP-commit-of-c-prime", "E6", "replaying: a commit signed by replica 2's conf of C' (the replay verifies under C's keys)",
			func(g *Gen) {
				g.recovering(4, g.genesisBase())
				g.Final(inCommit(g.commitSignedBy(g.recoverySignKey(spec.RoleConf, 2), 1, tag("b"), 2)))
				g.Reject(spec.CodeBadSignature)
			}),
	}
}

func replayChunkCases() []Case {
	D, snap := scenarioDigest(), scenarioSnapshot()
	return []Case{
		recoveryCase("RT-chunk-installs-base", "T4", "replaying from base (4, D) to head 4: the base's chunk installs it, which reaches the head: the recovery vote, no checkpoint or transfer summary",
			func(g *Gen) {
				g.recovering(4, g.base4())
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Accept(spec.KindRecoveryVote)
			}),
		recoveryCase("RT-chunk-then-replay", "T4", "replaying from (4, D) to head 5, seq 5 committed with its batch: the chunk installs the base, seq 5 executes silently, the exec votes",
			func(g *Gen) {
				g.recovering(5, g.base4())
				g.commitBatch(5, batch(g.Request(0, 2, GetOp("b")), g.Request(2, 6, GetOp("c"))))
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Accept(spec.KindRecoveryVote)
			}),
		recoveryCase("RT4-genesis-base", "T4", "replaying from genesis: nothing to install, a chunk of (4, D) is stale",
			func(g *Gen) {
				g.recovering(8, g.genesisBase())
				g.Final(inChunk(g.wholeChunk(D, snap)))
				g.Reject(spec.CodeStale)
			}),
		recoveryCase("RT4-other-state", "T4", "replaying from (4, D): a chunk of (4, D0)",
			func(g *Gen) {
				g.recovering(8, g.base4())
				g.Final(inChunk(g.wholeChunk(nullSnapshotDigest(), nullSnapshot())))
				g.Reject(spec.CodeStale)
			}),
		recoveryCase("RT4-installed", "T4", "replaying from (4, D) to head 8: the base is installed; its chunk again is stale",
			func(g *Gen) {
				g.recovering(8, g.base4())
				c := g.wholeChunk(D, snap)
				g.Setup(inChunk(c))
				g.Final(inChunk(c))
				g.Reject(spec.CodeStale)
			}),
		recoveryCase("RT7-digest-mismatch", "T7", "replaying from (4, D): a well-sealed chunk of another snapshot does not hash to D",
			func(g *Gen) {
				g.recovering(8, g.base4())
				g.Final(inChunk(g.wholeChunk(D, nullSnapshot())))
				g.Reject(spec.CodeDigestMismatch)
			}),
	}
}
