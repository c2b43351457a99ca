package conformance

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the new-view cases of the Preparation compartment (§9.7, W1–W6).

// wRule maps a §8.6 rule to the §9.7 line that applies it at prep.
func wRule(nv string) string {
	switch nv {
	case "NV1":
		return "W1"
	case "NV2":
		return "W2"
	case "NV6", "NV7":
		return "W5"
	}
	return "W4"
}

// minMax returns the bytewise smaller and larger of two digests.
func minMax(a, b spec.Digest) (spec.Digest, spec.Digest) {
	if bytes.Compare(a[:], b[:]) < 0 {
		return a, b
	}
	return b, a
}

func prepNewViewCases() []Case {
	var cs []Case
	for _, b := range badNVs() {
		b := b
		cs = append(cs, Case{Name: wRule(b.rule) + "-" + b.rule + "-" + b.name, Rule: wRule(b.rule), Replica: 2,
			Comment: "prep 2 in view 0, NEW-VIEW for view 1: " + b.rule + " fails: " + b.what,
			Build: func(g *Gen) {
				g.Final(inNV(b.make(g)))
				g.Reject(b.code)
			}})
	}
	da, db := minMax(tag("batch-a"), tag("batch-b"))
	dc := tag("batch-c")
	null := spec.NullBatchDigest()
	o := func(n uint64, d spec.Digest) spec.Slot { return spec.Slot{View: 1, Seq: n, Digest: d, Replica: 1} }
	// vcs13 are view-changes to 1 with prepared certificates for seq 1 (da) and 3 (dc):
	// O = [1: da, 2: null, 3: dc].
	vcs13 := func(g *Gen) []spec.ViewChange {
		return []spec.ViewChange{
			g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, da)),
			g.ViewChange(1, 2, g.genesis(), g.PreparedCert(0, 1, da), g.PreparedCert(0, 3, dc)),
			g.ViewChange(1, 3, g.genesis()),
		}
	}
	// vcsViews are view-changes to 2 where seq 1 was prepared with da in view 0 and
	// with db in view 1: O = [1: db].
	vcsViews := func(g *Gen) []spec.ViewChange {
		return []spec.ViewChange{
			g.ViewChange(2, 0, g.genesis(), g.PreparedCert(0, 1, da)),
			g.ViewChange(2, 1, g.genesis(), g.PreparedCert(1, 1, db)),
			g.ViewChange(2, 3, g.genesis()),
		}
	}
	// vcsDigests are view-changes to 1 where seq 1 was prepared in view 0 with both
	// da and db: O = [1: min(da, db)] = [1: da].
	vcsDigests := func(g *Gen) []spec.ViewChange {
		return []spec.ViewChange{
			g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 1, db)),
			g.ViewChange(1, 2, g.genesis(), g.PreparedCert(0, 1, da)),
			g.ViewChange(1, 3, g.genesis()),
		}
	}
	// vcsStable are view-changes to 1 where conf 0 has stable checkpoint 4 and a
	// prepared seq 5; conf 2's prepared seq 3 lies at or below minS = 4: O = [5: dc].
	vcsStable := func(g *Gen) []spec.ViewChange {
		return []spec.ViewChange{
			g.ViewChange(1, 0, g.CheckpointCert(4, tag("state-a"), 0, 2, 3), g.PreparedCert(0, 5, dc)),
			g.ViewChange(1, 2, g.genesis(), g.PreparedCert(0, 3, da)),
			g.ViewChange(1, 3, g.genesis()),
		}
	}
	cs = append(cs, []Case{
		{Name: "W2-own-view", Rule: "W2", Replica: 1,
			Comment: "prep 1 receives a NEW-VIEW for view 1, which it leads and did not build: not-primary",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "W-accept-empty", Rule: "W6", Replica: 2,
			Comment: "NEW-VIEW for view 1 on genesis view-changes, O empty: accepted, nothing to prepare",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Accept()
			}},
		{Name: "W-accept-prepares", Rule: "W6", Replica: 2,
			Comment: "O = [1: D1, 2: null, 3: D3]: accepted, one PREPARE per entry including the null batch",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(1, vcs13(g))))
				g.Accept(spec.KindPrepare, spec.KindPrepare, spec.KindPrepare)
			}},
		{Name: "W-accept-highest-view", Rule: "W6", Replica: 3,
			Comment: "NEW-VIEW for view 2: seq 1 prepared in view 0 (digest A) and view 1 (digest B); O takes B",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(2, vcsViews(g), []spec.Slot{{View: 2, Seq: 1, Digest: db, Replica: 2}})))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "W-accept-smallest-digest", Rule: "W6", Replica: 2,
			Comment: "seq 1 prepared in view 0 with two digests: O takes the bytewise smaller",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcsDigests(g), []spec.Slot{o(1, da)})))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "W-accept-stable", Rule: "W6", Replica: 2,
			Comment: "minS = 4 from conf 0's checkpoint certificate; prepared seq 3 is ignored, O = [5: D]",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcsStable(g), []spec.Slot{o(5, dc)})))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "W-accept-above-h", Rule: "W6", Replica: 2,
			Comment: "prep 2 has stable checkpoint 4 of its own; O = [1: null, 2: null, 3: D, 4: null, 5: D'] (minS = 0): only the entry above h = 4 is prepared",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 1, 3)...)
				vcs := g.vcsWith(0, g.ViewChange(1, 0, g.genesis(), g.PreparedCert(0, 3, da), g.PreparedCert(0, 5, dc)))
				g.Final(inNV(g.NewView(1, vcs)))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "W-adopts-checkpoint", Rule: "P5", Replica: 2,
			Comment: "after the NEW-VIEW with minS = 4 prep 2 adopted checkpoint 4: a view-1 proposal for seq 4 is stale",
			Build: func(g *Gen) {
				g.Setup(inNV(g.nvO(1, vcsStable(g), []spec.Slot{o(5, dc)})))
				g.Final(inProposal(g.Proposal(1, 4, g.batchOf(0, 1))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "W-adopted-window", Rule: "P5", Replica: 2,
			Comment: "after the NEW-VIEW with minS = 4 the window is (4, 20]: a view-1 proposal for seq 20 is prepared",
			Build: func(g *Gen) {
				g.Setup(inNV(g.nvO(1, vcsStable(g), []spec.Slot{o(5, dc)})))
				g.Final(inProposal(g.Proposal(1, 20, g.batchOf(0, 1))))
				g.Accept(spec.KindPrepare)
			}},
		{Name: "W3-current-view", Rule: "W3", Replica: 2,
			Comment: "a NEW-VIEW for view 0 (from prep 0, its primary) at a prep in view 0 is stale",
			Build: func(g *Gen) {
				g.Final(inNV(g.NewView(0, g.genesisVCs(0, 0, 1, 3))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "W3-repeat", Rule: "W3", Replica: 2,
			Comment: "the same NEW-VIEW for view 1 twice: the second is stale",
			Build: func(g *Gen) {
				nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
				g.Setup(inNV(nv))
				g.Final(inNV(nv))
				g.Reject(spec.CodeStale)
			}},
		{Name: "W3-lower", Rule: "W3", Replica: 3,
			Comment: "prep 3 accepted the NEW-VIEW for view 2; one for view 1 is stale",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(2, g.genesisVCs(2, 0, 1, 3))))
				g.Final(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Reject(spec.CodeStale)
			}},
		{Name: "W3-before-W4", Rule: "W3", Replica: 2,
			Comment: "W3 precedes W4: a repeated NEW-VIEW with a corrupted signature is stale",
			Build: func(g *Gen) {
				nv := g.NewView(1, g.genesisVCs(1, 0, 2, 3))
				g.Setup(inNV(nv))
				nv.Sig = flip(nv.Sig)
				g.Final(inNV(nv))
				g.Reject(spec.CodeStale)
			}},
		{Name: "W6-wrong-digest", Rule: "W6", Replica: 2,
			Comment: "O = [1: D', 2: null, 3: D3] where the recomputed entry 1 is D1",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcs13(g), []spec.Slot{o(1, db), o(2, null), o(3, dc)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-missing-gap", Rule: "W6", Replica: 2,
			Comment: "O = [1: D1, 3: D3]: the null entry for the gap at seq 2 is missing",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcs13(g), []spec.Slot{o(1, da), o(3, dc)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-gap-not-null", Rule: "W6", Replica: 2,
			Comment: "O = [1: D1, 2: D1, 3: D3]: the gap at seq 2 must be the null batch",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcs13(g), []spec.Slot{o(1, da), o(2, da), o(3, dc)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-extra-entry", Rule: "W6", Replica: 2,
			Comment: "genesis view-changes recompute an empty O; the NEW-VIEW has [1: null]",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, g.genesisVCs(1, 0, 2, 3), []spec.Slot{o(1, null)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-trailing-null", Rule: "W6", Replica: 2,
			Comment: "O = [1: D1, 2: null, 3: D3, 4: null]: entries end at maxS = 3",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcs13(g), []spec.Slot{o(1, da), o(2, null), o(3, dc), o(4, null)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-empty", Rule: "W6", Replica: 2,
			Comment: "the NEW-VIEW's O is empty where [1: D1, 2: null, 3: D3] is recomputed",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcs13(g), nil)))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-lower-view", Rule: "W6", Replica: 3,
			Comment: "NEW-VIEW for view 2 takes seq 1's view-0 digest A instead of view-1 digest B",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(2, vcsViews(g), []spec.Slot{{View: 2, Seq: 1, Digest: da, Replica: 2}})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-larger-digest", Rule: "W6", Replica: 2,
			Comment: "seq 1 prepared in view 0 with two digests; the NEW-VIEW takes the larger",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcsDigests(g), []spec.Slot{o(1, db)})))
				g.Reject(spec.CodeBadNewView)
			}},
		{Name: "W6-below-best", Rule: "W6", Replica: 2,
			Comment: "minS = 4; O = [5: D] is recomputed, the NEW-VIEW has [5: null]",
			Build: func(g *Gen) {
				g.Final(inNV(g.nvO(1, vcsStable(g), []spec.Slot{o(5, null)})))
				g.Reject(spec.CodeBadNewView)
			}},
	}...)
	return cs
}
