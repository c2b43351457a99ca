package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the proposal cases of the Preparation compartment (SPEC.md §9.4,
// P1–P11; P11's per-request cases are in cases_prep.go).

// enterView1 sets up a backup prep (replica 2 or 3) in view 1 by a NEW-VIEW from
// prep 1 built on genesis view-changes of 0, 2, 3 and vcs' prepared certificates.
func (g *Gen) enterView1(vcs ...spec.ViewChange) {
	if len(vcs) == 0 {
		vcs = g.genesisVCs(1, 0, 2, 3)
	}
	g.Setup(inNV(g.NewView(1, vcs)))
}

// becomePrimary1 sets up prep 1 as the primary of view 1: three view-changes to view
// 1 make it build and send the NEW-VIEW.
func (g *Gen) becomePrimary1() {
	var ins []spec.Input
	for _, vc := range g.genesisVCs(1, 0, 2, 3) {
		ins = append(ins, inVC(vc))
	}
	g.Setup(ins...)
}

// primary1Prepared sets up prep 1 as primary of view 1 from view-changes whose
// prepared certificates reach seq 3 (maxS = 3).
func (g *Gen) primary1Prepared() {
	vcs := g.genesisVCs(1, 0, 2, 3)
	vcs[0] = g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, tag("batch-a")), g.PreparedCert(0, 3, tag("batch-c")))
	g.Setup(inVC(vcs[0]), inVC(vcs[1]), inVC(vcs[2]))
}

// primary1Stable sets up prep 1 as primary of view 1 from view-changes of which one
// carries stable checkpoint 4 and none a prepared certificate (minS = maxS = 4).
func (g *Gen) primary1Stable() {
	vcs := g.genesisVCs(1, 0, 2, 3)
	vcs[1] = g.ViewChange(1, 2, g.CheckpointCert(4, tag("state-a"), 0, 2, 3))
	g.Setup(inVC(vcs[0]), inVC(vcs[1]), inVC(vcs[2]))
}

// proposalAs is a proposal with header slot hs signed by prep signer under domain.
func (g *Gen) proposalAs(hs spec.Slot, signer uint64, domain string, b spec.Batch) spec.Proposal {
	return spec.Proposal{Header: g.ppAs(hs, signer, domain), Batch: b}
}

func proposalCases() []Case {
	slot := func(g *Gen, v, n uint64, b spec.Batch, r uint64) spec.Slot {
		return spec.Slot{View: v, Seq: n, Digest: spec.BatchDigest(&b), Replica: r}
	}
	return []Case{
		{Name: "proposal-accept", Rule: "P11", Replica: 1,
			Comment: "a valid proposal from the primary of view 0 is prepared",
			Build: func(g *Gen) {
				g.Final(In(spec.KindProposal, ptr(g.Proposal(0, 1, g.batchOf(0, 1)))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "proposal-conflict", Role: spec.RolePrep, Rule: "P7", Replica: 1,
			Comment: "a second proposal for (v, n) with another digest",
			Build: func(g *Gen) {
				g.Setup(In(spec.KindProposal, ptr(g.Proposal(0, 1, g.batchOf(0, 1)))))
				g.Final(In(spec.KindProposal, ptr(g.Proposal(0, 1, g.batchOf(1, 1)))))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "proposal-duplicate", Role: spec.RolePrep, Rule: "P8", Replica: 1,
			Comment: "the same proposal twice",
			Build: func(g *Gen) {
				p := g.Proposal(0, 1, g.batchOf(0, 1))
				g.Setup(In(spec.KindProposal, &p))
				g.Final(In(spec.KindProposal, &p))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "P-accept-gap", Rule: "P11", Replica: 1,
			Comment: "a proposal for seq 5 with nothing at 1..4 is prepared (no ordering between slots)",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 5, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P-accept-window-edge", Rule: "P5", Replica: 3,
			Comment: "a proposal for seq 16 = h + L is prepared",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 16, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P-accept-two-slots", Rule: "P11", Replica: 1,
			Comment: "proposals for seq 1 and seq 2: the second is prepared too",
			Build: func(g *Gen) {
				g.Setup(inProposal(g.Proposal(0, 1, g.batchOf(0, 1))))
				g.Final(inProposal(g.Proposal(0, 2, g.batchOf(0, 2))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P-accept-during-view-change", Rule: "P11", Replica: 2,
			Comment: "prep has no view-changing state: after accepting a view-change to view 1 (no NEW-VIEW yet) it still prepares view-0 proposals",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(1, 0)[0]))
				g.Final(inProposal(g.Proposal(0, 1, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P1-unknown-sender", Rule: "P1", Replica: 1,
			Comment: "a proposal whose header names replica 4 (n = 4)",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 0, 1, b, 4), 0, spec.DomainPrePrepare, b)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "P1-before-P2", Rule: "P1", Replica: 1,
			Comment: "P1 precedes P2: replica 4 in view 7",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 7, 1, b, 4), 0, spec.DomainPrePrepare, b)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "P2-wrong-view", Rule: "P2", Replica: 2,
			Comment: "a proposal for view 1 (from its primary, prep 1) while prep is in view 0",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(1, 1, g.batchOf(0, 1))))
				g.Reject(spec.CodeWrongView)
			}},
		{Name: "P2-before-P3", Rule: "P2", Replica: 2,
			Comment: "P2 precedes P3: a view-1 proposal from replica 0 (not primary of 1)",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 1, 1, b, 0), 0, spec.DomainPrePrepare, b)))
				g.Reject(spec.CodeWrongView)
			}},
		{Name: "P2-stale", Rule: "P2", Replica: 2,
			Comment: "prep 2 entered view 1 by a NEW-VIEW; a view-0 proposal is stale",
			Build: func(g *Gen) {
				g.enterView1()
				g.Final(inProposal(g.Proposal(0, 1, g.batchOf(0, 1))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "P2-new-view-accept", Rule: "P2", Replica: 2,
			Comment: "prep 2 entered view 1 by a NEW-VIEW; a view-1 proposal from prep 1 is prepared",
			Build: func(g *Gen) {
				g.enterView1()
				g.Final(inProposal(g.Proposal(1, 1, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P3-not-primary", Rule: "P3", Replica: 1,
			Comment: "a view-0 proposal from replica 2 (signed by prep 2)",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 0, 1, b, 2), 2, spec.DomainPrePrepare, b)))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "P4-self", Rule: "P4", Replica: 0,
			Comment: "the primary's own proposal delivered back to it",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, g.batchOf(0, 1))))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "P4-new-primary", Rule: "P4", Replica: 1,
			Comment: "prep 1 became primary of view 1 (three view-changes); a view-1 proposal signed by prep 1 is refused",
			Build: func(g *Gen) {
				g.becomePrimary1()
				g.Final(inProposal(g.Proposal(1, 1, g.batchOf(0, 1))))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "P5-seq-zero", Rule: "P5", Replica: 1,
			Comment: "a proposal for seq 0 is stale",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 0, g.batchOf(0, 1))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "P5-beyond-window", Rule: "P5", Replica: 1,
			Comment: "a proposal for seq 17 > h + L",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 17, g.batchOf(0, 1))))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "P5-at-stable", Rule: "P5", Replica: 1,
			Comment: "checkpoint 4 is stable; a proposal for seq 4 is stale",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inProposal(g.Proposal(0, 4, g.batchOf(0, 1))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "P5-beyond-moved-window", Rule: "P5", Replica: 1,
			Comment: "checkpoint 4 is stable; a proposal for seq 21 > 4 + L",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inProposal(g.Proposal(0, 21, g.batchOf(0, 1))))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "P5-moved-window-accept", Rule: "P5", Replica: 1,
			Comment: "checkpoint 4 is stable; a proposal for seq 20 = 4 + L is prepared",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Final(inProposal(g.Proposal(0, 20, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "P5-before-P6", Rule: "P5", Replica: 1,
			Comment: "P5 precedes P6: seq 17 with a corrupted signature is out-of-window",
			Build: func(g *Gen) {
				p := g.Proposal(0, 17, g.batchOf(0, 1))
				p.Header.Sig = flip(p.Header.Sig)
				g.Final(inProposal(p))
				g.Reject(spec.CodeOutOfWindow)
			}},
		{Name: "P6-flipped", Rule: "P6", Replica: 1,
			Comment: "a proposal whose header signature is corrupted",
			Build: func(g *Gen) {
				p := g.Proposal(0, 1, g.batchOf(0, 1))
				p.Header.Sig = flip(p.Header.Sig)
				g.Final(inProposal(p))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P6-prepare-domain", Rule: "P6", Replica: 1,
			Comment: "the header is signed by prep 0 under the prepare domain (same body type Slot)",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 0, 1, b, 0), 0, spec.DomainPrepare, b)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P6-other-signer", Rule: "P6", Replica: 1,
			Comment: "the header names replica 0 but is signed by prep 2",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.Final(inProposal(g.proposalAs(slot(g, 0, 1, b, 0), 2, spec.DomainPrePrepare, b)))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P6-conf-key", Rule: "P6", Replica: 1,
			Comment: "the header is signed by conf 0 instead of prep 0",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				hs := slot(g, 0, 1, b, 0)
				g.Final(inProposal(spec.Proposal{Header: spec.PrePrepare{Body: hs, Sig: g.Sign(spec.RoleConf, 0, spec.DomainPrePrepare, &hs)}, Batch: b}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P6-other-cluster", Rule: "P6", Replica: 1,
			Comment: "the header is signed by prep 0 for another configuration digest",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				hs := slot(g, 0, 1, b, 0)
				g.Final(inProposal(spec.Proposal{Header: spec.PrePrepare{Body: hs, Sig: g.signOtherCluster(spec.RolePrep, 0, spec.DomainPrePrepare, &hs)}, Batch: b}))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P6-before-P7", Rule: "P6", Replica: 1,
			Comment: "P6 precedes P7: a conflicting proposal with a corrupted signature is bad-signature",
			Build: func(g *Gen) {
				g.Setup(inProposal(g.Proposal(0, 1, g.batchOf(0, 1))))
				p := g.Proposal(0, 1, g.batchOf(1, 1))
				p.Header.Sig = flip(p.Header.Sig)
				g.Final(inProposal(p))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "P7-after-new-view", Rule: "P7", Replica: 2,
			Comment: "the NEW-VIEW for view 1 put digest D at seq 1; a view-1 proposal of another batch at seq 1 conflicts",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.enterView1(g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, spec.BatchDigest(&b))))...)
				g.Final(inProposal(g.Proposal(1, 1, g.batchOf(1, 1))))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "P7-null-entry", Rule: "P7", Replica: 2,
			Comment: "the NEW-VIEW for view 1 put the null batch at seq 1 (gap below a prepared seq 2); a proposal at seq 1 conflicts",
			Build: func(g *Gen) {
				g.enterView1(g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 2, tag("batch-a"))))...)
				g.Final(inProposal(g.Proposal(1, 1, g.batchOf(1, 1))))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "P8-after-new-view", Rule: "P8", Replica: 2,
			Comment: "the NEW-VIEW for view 1 put BatchDigest(b) at seq 1; the view-1 proposal of b at seq 1 is a duplicate",
			Build: func(g *Gen) {
				b := g.batchOf(0, 1)
				g.enterView1(g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, spec.BatchDigest(&b))))...)
				g.Final(inProposal(g.Proposal(1, 1, b)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "P8-before-P9", Rule: "P8", Replica: 1,
			Comment: "P8 precedes P9: the accepted header again, with a batch that does not match it",
			Build: func(g *Gen) {
				p := g.Proposal(0, 1, g.batchOf(0, 1))
				g.Setup(inProposal(p))
				p.Batch = g.batchOf(1, 1)
				g.Final(inProposal(p))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "P9-digest-mismatch", Rule: "P9", Replica: 1,
			Comment: "the header names BatchDigest(b) but the proposal carries another batch",
			Build: func(g *Gen) {
				p := g.Proposal(0, 1, g.batchOf(0, 1))
				p.Batch = g.batchOf(0, 1)
				g.Final(inProposal(p))
				g.Reject(spec.CodeDigestMismatch)
			}},
		{Name: "P9-before-P10", Rule: "P9", Replica: 1,
			Comment: "P9 precedes P10: a header for a non-empty batch carrying the empty batch",
			Build: func(g *Gen) {
				p := g.Proposal(0, 1, g.batchOf(0, 1))
				p.Batch = spec.Batch{}
				g.Final(inProposal(p))
				g.Reject(spec.CodeDigestMismatch)
			}},
		{Name: "P10-null-batch", Rule: "P10", Replica: 1,
			Comment: "a proposal of the null batch (header digest = null batch digest) in the normal case",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, spec.Batch{})))
				g.Reject(spec.CodeEmptyBatch)
			}},
		{Name: "P10-too-many", Rule: "P10", Replica: 1,
			Comment: "a proposal of 17 requests (MaxBatchRequests = 16)",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, g.manyRequests(17))))
				g.Reject(spec.CodeBatchLimit)
			}},
		{Name: "P10-before-P11", Rule: "P10", Replica: 1,
			Comment: "P10 precedes P11: 17 requests, the first from an unregistered client",
			Build: func(g *Gen) {
				b := g.manyRequests(17)
				b.Requests[0] = badRequests()[0].make(g)
				g.Final(inProposal(g.Proposal(0, 1, b)))
				g.Reject(spec.CodeBatchLimit)
			}},
		{Name: "P11-limit-accept", Rule: "P11", Replica: 1,
			Comment: "a proposal of exactly 16 valid requests is prepared",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, g.manyRequests(16))))
				g.Accept(spec.KindPrepare)
			}},
	}
}
