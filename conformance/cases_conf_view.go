package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds the view-change cases of the Confirmation compartment: suspect
// (§10.4, S1) and new-view (§10.6, N1–N4 with §8.6's NV1–NV7).

func suspectCases() []Case {
	d := tag("batch-a")
	return []Case{
		{Name: "S-accept", Rule: "S1", Replica: 1,
			Comment: "suspect{0} in view 0: conf moves to view 1 and emits its VIEW-CHANGE",
			Build: func(g *Gen) {
				g.Final(inSuspect(0))
				g.Accept(spec.KindViewChange)
			}},
		{Name: "S-accept-prepared", Rule: "S1", Replica: 1,
			Comment: "conf committed seq 1 and stored half of seq 2; suspect{0} emits the VIEW-CHANGE",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 2)), inPrepare(g.Prepare(0, 1, d, 3)))
				g.Setup(inPP(g.PrePrepare(0, 2, d)), inPrepare(g.Prepare(0, 2, d, 2)))
				g.Final(inSuspect(0))
				g.Accept(spec.KindViewChange)
			}},
		{Name: "S-accept-again", Rule: "S1", Replica: 1,
			Comment: "a suspicion while changing to view 1 (suspect{1}) moves on to view 2",
			Build: func(g *Gen) {
				g.Setup(inSuspect(0))
				g.Final(inSuspect(1))
				g.Accept(spec.KindViewChange)
			}},
		{Name: "S-accept-after-new-view", Rule: "S1", Replica: 1,
			Comment: "after the NEW-VIEW for view 1, suspect{1} emits a VIEW-CHANGE to view 2",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Final(inSuspect(1))
				g.Accept(spec.KindViewChange)
			}},
		{Name: "S1-future", Rule: "S1", Replica: 1,
			Comment: "suspect{1} in view 0",
			Build: func(g *Gen) {
				g.Final(inSuspect(1))
				g.Reject(spec.CodeWrongView)
			}},
		{Name: "S1-stale", Rule: "S1", Replica: 1,
			Comment: "suspect{0} again after the first moved conf to view 1",
			Build: func(g *Gen) {
				g.Setup(inSuspect(0))
				g.Final(inSuspect(0))
				g.Reject(spec.CodeStale)
			}},
		{Name: "S1-stale-after-new-view", Rule: "S1", Replica: 1,
			Comment: "suspect{0} after the NEW-VIEW for view 1",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Final(inSuspect(0))
				g.Reject(spec.CodeStale)
			}},
		{Name: "A4-suspect-malformed", Rule: "A4", Replica: 1,
			Comment: "a suspect body with a negative view",
			Build: func(g *Gen) {
				g.Final(raw(spec.KindSuspect, []byte{0x81, 0x20}))
				g.Reject(spec.CodeMalformed)
			}},
	}
}

// nRule maps a §8.6 rule to the §10.6 line that applies it at conf and exec.
func nRule(nv string) string {
	switch nv {
	case "NV1":
		return "N1"
	case "NV2":
		return "N2"
	}
	return "N4"
}

func confNewViewCases() []Case {
	var cs []Case
	for _, b := range badNVs() {
		b := b
		rule := b.rule
		if b.name == "V1-replica-n" || b.name == "V2-flipped" {
			rule += "," + b.name[:2] // the view-change rule that fails inside NV5
		}
		cs = append(cs, Case{Name: b.rule + "-" + b.name, Rule: rule, Replica: 2,
			Comment: "conf 2 in view 0 gets a NEW-VIEW for view 1 that fails " + b.rule + " (" + nRule(b.rule) + "): " + b.what,
			Build: func(g *Gen) {
				g.Final(inNV(b.make(g)))
				g.Reject(b.code)
			}})
	}
	d := tag("batch-a")
	o := func(n uint64, dg spec.Digest) spec.Slot { return spec.Slot{View: 1, Seq: n, Digest: dg, Replica: 1} }
	cs = append(cs, []Case{
		{Name: "N-accept", Rule: "N4", Replica: 2,
			Comment: "a valid NEW-VIEW for view 1 while active in view 0",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Accept()
			}},
		{Name: "N-accept-no-recompute", Rule: "N4", Replica: 2,
			Comment: "conf does not recompute O: [1: D] although the view-changes prepared nothing (NV6, NV7 hold)",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(1, d)})))
				g.Accept()
			}},
		{Name: "N3-changing-accept", Rule: "N3", Replica: 2,
			Comment: "suspect{0} moved conf to view 1 (not active); the NEW-VIEW for view 1 (w == v) is accepted",
			Build: func(g *Gen) {
				g.Setup(inSuspect(0))
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Accept()
			}},
		{Name: "N3-skip-accept", Rule: "N3", Replica: 2,
			Comment: "suspect{0} moved conf to view 1; a NEW-VIEW for view 2 (w > v) is accepted",
			Build: func(g *Gen) {
				g.Setup(inSuspect(0))
				g.Final(inNV(g.NewView(2, g.genesisVCs(2, 0, 1, 3))))
				g.Accept()
			}},
		{Name: "N3-current-view", Rule: "N3", Replica: 2,
			Comment: "a NEW-VIEW for view 0 while active in view 0 is stale",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(0, g.genesisVCs(0, 1, 2, 3))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N3-repeat", Rule: "N3", Replica: 2,
			Comment: "the NEW-VIEW for view 1 again, conf active in view 1",
			Build: func(g *Gen) {
				nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
				g.Setup(inNV(nv))
				g.Final(inNV(nv))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N3-lower-while-changing", Rule: "N3", Replica: 2,
			Comment: "two suspicions moved conf to view 2; a NEW-VIEW for view 1 is stale",
			Build: func(g *Gen) {
				g.Setup(inSuspect(0))
				g.Setup(inSuspect(1))
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N3-before-N4", Rule: "N3", Replica: 2,
			Comment: "N3 precedes N4: a repeated NEW-VIEW with a corrupted signature is stale",
			Build: func(g *Gen) {
				nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
				g.Setup(inNV(nv))
				nv.Sig = flip(nv.Sig)
				g.Final(inNV(nv))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N-o-is-pre-prepare", Rule: "Q8", Replica: 2,
			Comment: "the NEW-VIEW's O entry (1, 1, D) is stored as the slot's pre-prepare: the same pre-prepare again is a duplicate",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, d))))))
				g.Final(inPP(g.PrePrepare(1, 1, d)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "N-o-commits", Rule: "Q8", Replica: 2,
			Comment: "O entry (1, 1, D) is the slot's pre-prepare: prepares from 0 and 3 for it emit one COMMIT",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, d))))))
				g.Setup(inPrepare(g.Prepare(1, 1, d, 0)))
				g.Final(inPrepare(g.Prepare(1, 1, d, 3)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "N-adopts-checkpoint", Rule: "Q5", Replica: 2,
			Comment: "the NEW-VIEW's best view-change carries stable checkpoint 4: conf adopts it, a view-1 pre-prepare for seq 4 is stale",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.vcsWith(0, g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0, 2, 3))))))
				g.Final(inPP(g.PrePrepare(1, 4, d)))
				g.Reject(spec.CodeStale)
			}},
		{Name: "N-clears-slots", Rule: "Q7", Replica: 2,
			Comment: "a view-0 prepare from 3 for (seq 1, D) was stored; the NEW-VIEW for view 1 removes all slots, so a view-1 prepare from 3 for (seq 1, D') does not conflict",
			Build: func(g *Gen) {
				g.Setup(inPrepare(g.Prepare(0, 1, d, 3)))
				g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Final(inPrepare(g.Prepare(1, 1, tag("batch-b"), 3)))
				g.Accept()
			}},
	}...)
	return cs
}
