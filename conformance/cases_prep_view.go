package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the view-change cases of the Preparation compartment (§9.6,
// VC1–VC6, with the certificate rules of §5.1).

func prepViewChangeCases() []Case {
	cs := []Case{
		{Name: "VC-accept", Rule: "VC6", Replica: 2,
			Comment: "a valid view-change to view 1 at a prep that is not primary of 1",
			Build: func(g *Gen) {
				g.Final(inVC(g.genesisVCs(1, 0)[0]))
				g.Accept()
			}},
		{Name: "VC-new-view", Rule: "VC6", Replica: 1,
			Comment: "prep 1 (primary of view 1) accepts the third view-change to view 1 and emits the NEW-VIEW",
			Build: func(g *Gen) {
				vcs := g.genesisVCs(1, 0, 2, 3)
				g.Setup(inVC(vcs[0]), inVC(vcs[1]))
				g.Final(inVC(vcs[2]))
				g.Accept(spec.KindNewView)
			}},
		{Name: "VC-new-view-own-conf", Rule: "VC6", Replica: 1,
			Comment: "the view-change of prep 1's own conf counts: 1, 0 then 3 give the NEW-VIEW",
			Build: func(g *Gen) {
				vcs := g.genesisVCs(1, 1, 0, 3)
				g.Setup(inVC(vcs[0]), inVC(vcs[1]))
				g.Final(inVC(vcs[2]))
				g.Accept(spec.KindNewView)
			}},
		{Name: "VC-new-view-prepared", Rule: "VC6", Replica: 1,
			Comment: "view-changes carrying stable checkpoint 4 and prepared certificates; the third gives the NEW-VIEW",
			Build: func(g *Gen) {
				st := g.CheckpointCert(4, tag("state-a"), 0, 2, 3)
				vcs := []spec.ViewChange{
					g.ViewChange(1, 0, st, g.PreparedCert(0, 5, tag("batch-a")), g.PreparedCert(0, 7, tag("batch-b"))),
					g.ViewChange(1, 2, g.genesis(), g.PreparedCert(0, 3, tag("batch-c"))),
					g.ViewChange(1, 3, st),
				}
				g.Setup(inVC(vcs[0]), inVC(vcs[1]))
				g.Final(inVC(vcs[2]))
				g.Accept(spec.KindNewView)
			}},
		{Name: "VC-new-view-jump", Rule: "VC6", Replica: 2,
			Comment: "prep 2 (primary of view 2) in view 0 builds the NEW-VIEW for view 2 on three view-changes to 2",
			Build: func(g *Gen) {
				vcs := g.genesisVCs(2, 0, 1, 3)
				g.Setup(inVC(vcs[0]), inVC(vcs[1]))
				g.Final(inVC(vcs[2]))
				g.Accept(spec.KindNewView)
			}},
		{Name: "VC-mixed-views", Rule: "VC6", Replica: 1,
			Comment: "view-changes to 1 (from 0), to 2 (from 2), to 1 (from 3): only two for view 1, no NEW-VIEW",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(1, 0)[0]), inVC(g.genesisVCs(2, 2)[0]))
				g.Final(inVC(g.genesisVCs(1, 3)[0]))
				g.Accept()
			}},
		{Name: "VC-latest-view-per-sender", Rule: "VC5", Replica: 1,
			Comment: "conf 2 moved on from view 1 to view 2 (vcs[2] replaced): view-changes to 1 from 0 and 3 are not enough",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(1, 0)[0]), inVC(g.genesisVCs(1, 2)[0]), inVC(g.genesisVCs(2, 2)[0]))
				g.Final(inVC(g.genesisVCs(1, 3)[0]))
				g.Accept()
			}},
		{Name: "VC-higher-view-accept", Rule: "VC5", Replica: 1,
			Comment: "vcs[2] is for view 1; a view-change to view 2 from conf 2 replaces it",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(1, 2)[0]))
				g.Final(inVC(g.genesisVCs(2, 2)[0]))
				g.Accept()
			}},
		{Name: "B1-new-primary", Rule: "B1", Replica: 1,
			Comment: "after building the NEW-VIEW for view 1, prep 1 is primary and proposes a client batch",
			Build: func(g *Gen) {
				g.becomePrimary1()
				g.Final(inClientBatch(g.batchOf(0, 1)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B3-new-primary-seqhigh-full", Rule: "B3", Replica: 1,
			Comment: "prep 1 built the NEW-VIEW for view 1 with maxS = 3 (seqHigh = 3): 13 batches take seqs 4..16, the 14th finds the window full",
			Build: func(g *Gen) {
				g.primary1Prepared()
				g.Setup(g.clientBatches(13)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Reject(spec.CodeWindowFull)
			}},
		{Name: "B3-new-primary-seqhigh-last", Rule: "B3", Replica: 1,
			Comment: "prep 1 built the NEW-VIEW for view 1 with maxS = 3 (seqHigh = 3): after 12 batches (4..15) the 13th takes seq 16",
			Build: func(g *Gen) {
				g.primary1Prepared()
				g.Setup(g.clientBatches(12)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B3-new-primary-adopted-full", Rule: "B3", Replica: 1,
			Comment: "prep 1 built the NEW-VIEW for view 1 adopting checkpoint 4 (h = seqHigh = 4): 16 batches take 5..20, the 17th finds the window full",
			Build: func(g *Gen) {
				g.primary1Stable()
				g.Setup(g.clientBatches(16)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Reject(spec.CodeWindowFull)
			}},
		{Name: "B3-new-primary-adopted-last", Rule: "B3", Replica: 1,
			Comment: "prep 1 built the NEW-VIEW for view 1 adopting checkpoint 4: after 15 batches (5..19) the 16th takes seq 20",
			Build: func(g *Gen) {
				g.primary1Stable()
				g.Setup(g.clientBatches(15)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B1-old-primary", Rule: "B1", Replica: 0,
			Comment: "prep 0 accepted the NEW-VIEW for view 1: it is no longer primary",
			Build: func(g *Gen) {
				g.enterView1()
				g.Final(inClientBatch(g.batchOf(0, 1)))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "VC1-unknown-sender", Rule: "VC1,V1", Replica: 2,
			Comment: "a view-change from replica 4 (n = 4)",
			Build: func(g *Gen) {
				g.Final(inVC(g.vcSigned(spec.ViewChangeBody{View: 1, Replica: 4, Stable: g.genesis()}, 0)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "VC1-before-VC2", Rule: "VC1", Replica: 2,
			Comment: "VC1 precedes VC2: replica 4, view 0",
			Build: func(g *Gen) {
				g.Final(inVC(g.vcSigned(spec.ViewChangeBody{View: 0, Replica: 4, Stable: g.genesis()}, 0)))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "VC2-current-view", Rule: "VC2", Replica: 2,
			Comment: "a view-change to view 0, the current view",
			Build: func(g *Gen) {
				g.Final(inVC(g.genesisVCs(0, 0)[0]))
				g.Reject(spec.CodeStale)
			}},
		{Name: "VC2-after-new-view", Rule: "VC2", Replica: 1,
			Comment: "prep 1 entered view 1 by building its NEW-VIEW; a fourth view-change to view 1 is stale",
			Build: func(g *Gen) {
				g.becomePrimary1()
				g.Final(inVC(g.genesisVCs(1, 1)[0]))
				g.Reject(spec.CodeStale)
			}},
		{Name: "VC2-before-VC3", Rule: "VC2", Replica: 2,
			Comment: "VC2 precedes VC3: a view-change to view 0 with a corrupted signature",
			Build: func(g *Gen) {
				vc := g.genesisVCs(0, 0)[0]
				vc.Sig = flip(vc.Sig)
				g.Final(inVC(vc))
				g.Reject(spec.CodeStale)
			}},
		{Name: "VC3-flipped", Rule: "VC3,V2", Replica: 2,
			Comment: "a view-change whose signature is corrupted (V2 received directly: bad-signature)",
			Build: func(g *Gen) {
				vc := g.genesisVCs(1, 0)[0]
				vc.Sig = flip(vc.Sig)
				g.Final(inVC(vc))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "VC3-prep-key", Rule: "VC3", Replica: 2,
			Comment: "a view-change signed by prep 0 instead of conf 0",
			Build: func(g *Gen) {
				vc := g.genesisVCs(1, 0)[0]
				vc.Sig = g.Sign(spec.RolePrep, 0, spec.DomainViewChange, &vc.Body)
				g.Final(inVC(vc))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "VC3-other-cluster", Rule: "VC3", Replica: 2,
			Comment: "a view-change signed by conf 0 for another configuration digest",
			Build: func(g *Gen) {
				vc := g.genesisVCs(1, 0)[0]
				vc.Sig = g.signOtherCluster(spec.RoleConf, 0, spec.DomainViewChange, &vc.Body)
				g.Final(inVC(vc))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "VC3-before-VC4", Rule: "VC3", Replica: 2,
			Comment: "VC3 precedes VC4: a corrupted signature on a view-change with an invalid certificate",
			Build: func(g *Gen) {
				vc := g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0))
				vc.Sig = flip(vc.Sig)
				g.Final(inVC(vc))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "VC4-bad-certificate", Rule: "VC4", Replica: 2,
			Comment: "a correctly signed view-change whose stable checkpoint certificate has one proof (V3 fails): bad-certificate",
			Build: func(g *Gen) {
				g.Final(inVC(g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0))))
				g.Reject(spec.CodeBadCertificate)
			}},
		{Name: "VC5-lower-view", Rule: "VC5", Replica: 1,
			Comment: "vcs[2] is for view 2; a view-change to view 1 from conf 2 is stale",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(2, 2)[0]))
				g.Final(inVC(g.genesisVCs(1, 2)[0]))
				g.Reject(spec.CodeStale)
			}},
		{Name: "VC5-conflict", Rule: "VC5", Replica: 1,
			Comment: "vcs[2] is a view-change to view 2; another one to view 2 from conf 2 with other content conflicts",
			Build: func(g *Gen) {
				g.Setup(inVC(g.genesisVCs(2, 2)[0]))
				g.Final(inVC(g.ViewChange(2, 2, g.genesis(), g.PreparedCert(0, 1, tag("batch-a")))))
				g.Reject(spec.CodeConflict)
			}},
		{Name: "VC6-duplicate", Rule: "VC6", Replica: 1,
			Comment: "the same view-change twice",
			Build: func(g *Gen) {
				vc := g.ViewChange(2, 2, g.genesis(), g.PreparedCert(0, 1, tag("batch-a")))
				g.Setup(inVC(vc))
				g.Final(inVC(vc))
				g.Reject(spec.CodeDuplicate)
			}},
	}
	for _, b := range badVCs() {
		b := b
		cs = append(cs, Case{Name: b.rule + "-" + b.name, Rule: b.rule, Replica: 2,
			Comment: "a view-change to view 1 from conf 0 (signed correctly) with an invalid certificate is rejected by VC4: " + b.what,
			Build: func(g *Gen) {
				g.Final(inVC(b.make(g, 1, 0)))
				g.Reject(spec.CodeBadCertificate)
			}})
	}
	for _, b := range goodVCs() {
		b := b
		cs = append(cs, Case{Name: b.rule + "-" + b.name + "-accept", Rule: b.rule, Replica: 1,
			Comment: "a view-change to view 2 from conf 0 is accepted: " + b.what,
			Build: func(g *Gen) {
				g.Final(inVC(b.make(g, 2, 0)))
				g.Accept()
			}})
	}
	return cs
}
