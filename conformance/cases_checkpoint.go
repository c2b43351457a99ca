package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the cases of SPEC.md §8.3 (checkpoint collection, CP1–CP7), run
// against every role. The compartment under test is replica 1; checkpoints come from
// the execs of replicas 0, 2 and 3 (q = 3). K = 4, L = 16.

func checkpointCases(r spec.Role) []Case {
	s, s2 := tag("state-a"), tag("state-b")
	return []Case{
		{Name: "CP-stable-accept", Rule: "CP7", Replica: 1,
			Comment: "the q-th matching checkpoint (4, S) is accepted and makes it stable",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, s, 0, 2)...)
				g.Final(inCP(g.Checkpoint(4, s, 3)))
				g.Accept()
			}},
		{Name: "CP-near-edge-accept", Rule: "CP7", Replica: 1,
			Comment: "a checkpoint at exactly h + L = 16 is near and accepted",
			Build: func(g *Gen) {
				g.Final(inCP(g.Checkpoint(16, s, 2)))
				g.Accept()
			}},
		{Name: "CP1-unknown-sender", Rule: "CP1", Replica: 1,
			Comment: "a checkpoint from replica n = 4",
			Build: func(g *Gen) {
				g.Final(inCP(g.cpSigned(spec.CheckpointBody{Seq: 4, State: s, Replica: 4}, 0)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "CP1-unknown-sender-huge", Rule: "CP1", Replica: 1,
			Comment: "a checkpoint from replica 2^64-1",
			Build: func(g *Gen) {
				g.Final(inCP(g.cpSigned(spec.CheckpointBody{Seq: 4, State: s, Replica: ^uint64(0)}, 0)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "CP2-seq-zero", Rule: "CP2", Replica: 1,
			Comment: "a checkpoint at Seq 0 (CP2 precedes CP3's stale)",
			Build: func(g *Gen) {
				g.Final(inCP(g.Checkpoint(0, spec.Digest{}, 2)))
				g.Reject(spec.CodeBadCheckpoint)
			}},
		{Name: "CP2-not-multiple", Rule: "CP2", Replica: 1,
			Comment: "a checkpoint at Seq 6, not a multiple of K = 4",
			Build: func(g *Gen) {
				g.Final(inCP(g.Checkpoint(6, s, 2)))
				g.Reject(spec.CodeBadCheckpoint)
			}},
		{Name: "CP2-before-signature", Rule: "CP2", Replica: 1,
			Comment: "CP2 precedes CP4: Seq 5 with a bad signature is bad-checkpoint",
			Build: func(g *Gen) {
				c := g.Checkpoint(5, s, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCP(c))
				g.Reject(spec.CodeBadCheckpoint)
			}},
		{Name: "CP3-below-stable", Rule: "CP3", Replica: 1,
			Comment: "q checkpoints make (8, S) stable; then a checkpoint at 4 < h is stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(8, s, 0, 2, 3)...)
				g.Final(inCP(g.Checkpoint(4, s2, 0)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP3-at-stable", Rule: "CP3", Replica: 1,
			Comment: "(4, S) became stable; replica 0 then sends (4, S') — stale, not conflict, because h = 4 (and stored checkpoints ≤ h were removed)",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, s, 0, 2, 3)...)
				g.Final(inCP(g.Checkpoint(4, s2, 0)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP3-far-became-stable", Rule: "CP3", Replica: 1,
			Comment: "three far checkpoints (20 > h + L) with one state make 20 stable; another (20, S') is then stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(20, s, 0, 2, 3)...)
				g.Final(inCP(g.Checkpoint(20, s2, 0)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP3-before-signature", Rule: "CP3", Replica: 1,
			Comment: "CP3 precedes CP4: a badly signed checkpoint at h is stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, s, 0, 2, 3)...)
				c := g.Checkpoint(4, s2, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCP(c))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP4-flipped", Rule: "CP4", Replica: 1,
			Comment: "a checkpoint whose signature has one bit changed",
			Build: func(g *Gen) {
				c := g.Checkpoint(4, s, 2)
				c.Sig = flip(c.Sig)
				g.Final(inCP(c))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "CP4-conf-key", Rule: "CP4", Replica: 1,
			Comment: "a checkpoint signed by replica 2's conf key instead of its exec key",
			Build: func(g *Gen) {
				b := spec.CheckpointBody{Seq: 4, State: s, Replica: 2}
				g.Final(inCP(spec.Checkpoint{Body: b, Sig: g.Sign(spec.RoleConf, 2, spec.DomainCheckpoint, &b)}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "CP4-other-signer", Rule: "CP4", Replica: 1,
			Comment: "a checkpoint naming replica 2 signed by replica 3's exec",
			Build: func(g *Gen) {
				g.Final(inCP(g.cpSigned(spec.CheckpointBody{Seq: 4, State: s, Replica: 2}, 3)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "CP4-wrong-domain", Rule: "CP4", Replica: 1,
			Comment: "a checkpoint body signed by the right key under the view-change domain",
			Build: func(g *Gen) {
				b := spec.CheckpointBody{Seq: 4, State: s, Replica: 2}
				g.Final(inCP(spec.Checkpoint{Body: b, Sig: g.Sign(spec.RoleExec, 2, spec.DomainViewChange, &b)}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "CP4-other-cluster", Rule: "CP4", Replica: 1,
			Comment: "a checkpoint signed by the right key for another configuration digest",
			Build: func(g *Gen) {
				b := spec.CheckpointBody{Seq: 4, State: s, Replica: 2}
				g.Final(inCP(spec.Checkpoint{Body: b, Sig: g.signOtherCluster(spec.RoleExec, 2, spec.DomainCheckpoint, &b)}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "CP5-duplicate", Rule: "CP5", Replica: 1,
			Comment: "the same checkpoint twice",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(4, s, 2)))
				g.Final(inCP(g.Checkpoint(4, s, 2)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "CP5-duplicate-far", Rule: "CP5", Replica: 1,
			Comment: "the same far checkpoint (24 > h + L) twice: CP5 precedes CP7",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(24, s, 2)))
				g.Final(inCP(g.Checkpoint(24, s, 2)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "CP6-conflict", Rule: "CP6", Replica: 1,
			Comment: "a second checkpoint from replica 2 for Seq 4 with another state",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(4, s, 2)))
				g.Final(inCP(g.Checkpoint(4, s2, 2)))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "CP6-conflict-not-yet-stable", Rule: "CP6", Replica: 1,
			Comment: "two of three checkpoints for (4, S) do not make it stable: replica 0's (4, S') conflicts",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, s, 0, 2)...)
				g.Final(inCP(g.Checkpoint(4, s2, 0)))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "CP7-far-lower", Rule: "CP7", Replica: 1,
			Comment: "replica 2 stored far checkpoint 24; a far checkpoint at 20 from it is stale",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(24, s, 2)))
				g.Final(inCP(g.Checkpoint(20, s, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP7-far-replaced", Rule: "CP7", Replica: 1,
			Comment: "far 20 then far 24 from replica 2 (24 replaces 20); far 20 again is stale, not duplicate",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(20, s, 2)), inCP(g.Checkpoint(24, s, 2)))
				g.Final(inCP(g.Checkpoint(20, s, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP7-far-higher-accept", Rule: "CP7", Replica: 1,
			Comment: "replica 2 stored far checkpoint 20; a far checkpoint at 24 from it is accepted",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(20, s, 2)))
				g.Final(inCP(g.Checkpoint(24, s, 2)))
				g.Accept()
			}},
		{Name: "CP7-near-after-far-accept", Rule: "CP7", Replica: 1,
			Comment: "a far checkpoint does not limit near ones: far 24 then near 8 from replica 2 is accepted",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(24, s, 2)))
				g.Final(inCP(g.Checkpoint(8, s, 2)))
				g.Accept()
			}},
		{Name: "CP7-far-after-stable", Rule: "CP7", Replica: 1,
			Comment: "(4, S) stable, so h + L = 20: far 28 from replica 2 is stored; then 24 (> 20) from it is stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, s, 0, 2, 3)...)
				g.Setup(inCP(g.Checkpoint(28, s, 2)))
				g.Final(inCP(g.Checkpoint(24, s, 2)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "CP7-window-moves", Rule: "CP7", Replica: 1,
			Comment: "far 24 from replica 2 stored while h = 0; (8, S) becomes stable, so 20 is now near and accepted",
			Build: func(g *Gen) {
				g.Setup(inCP(g.Checkpoint(24, s, 2)))
				g.Setup(g.cps(8, s, 0, 2, 3)...)
				g.Final(inCP(g.Checkpoint(20, s, 2)))
				g.Accept()
			}},
	}
}
