package conformance

import "github.com/splitbft/splitbft/spec"

// confCases are the single-step vectors of the Confirmation compartment (SPEC.md §10),
// plus the shared ones of §8. Unless a case says otherwise the compartment under test
// is conf 1, a backup in view 0 (primary 0).
func confCases() []Case {
	var cs []Case
	cs = append(cs, confSlotCases()...)
	cs = append(cs, confOrderCases()...)
	cs = append(cs, suspectCases()...)
	cs = append(cs, confNewViewCases()...)
	cs = append(cs, commonCases(spec.RoleConf)...)
	return withRole(spec.RoleConf, cs)
}

// slotCase is one Q-rule case run for both pre-prepare and prepare.
type slotCase struct {
	rule, name, what string
	code             uint64
	// build sets up and returns the final input for kind (pre-prepare or prepare).
	build func(g *Gen, kind uint64) spec.Input
}

// msg is a correctly signed PRE-PREPARE (from primary(v)) or PREPARE (from replica r)
// for (v, n, d).
func (g *Gen) msg(kind, v, n uint64, d spec.Digest, r uint64) spec.Input {
	if kind == spec.KindPrePrepare {
		return inPP(g.PrePrepare(v, n, d))
	}
	return inPrepare(g.Prepare(v, n, d, r))
}

// msgAs is a PRE-PREPARE or PREPARE with body s signed by (role, signer) under domain.
func (g *Gen) msgAs(kind uint64, s spec.Slot, role spec.Role, signer uint64, domain string) spec.Input {
	sig := g.slotSigned(role, signer, domain, s)
	if kind == spec.KindPrePrepare {
		return inPP(spec.PrePrepare{Body: s, Sig: sig})
	}
	return inPrepare(spec.Prepare{Body: s, Sig: sig})
}

// domainOf is the signing domain of kind.
func domainOf(kind uint64) string {
	if kind == spec.KindPrePrepare {
		return spec.DomainPrePrepare
	}
	return spec.DomainPrepare
}

// otherDomain is the domain of the other kind sharing the body Slot.
func otherDomain(kind uint64) string {
	if kind == spec.KindPrePrepare {
		return spec.DomainPrepare
	}
	return spec.DomainPrePrepare
}

// sender is the replica that sends kind in view 0: the primary 0 for a pre-prepare,
// replica 2 for a prepare.
func sender(kind uint64) uint64 {
	if kind == spec.KindPrePrepare {
		return 0
	}
	return 2
}

// senderIn is the sender of kind in view v: primary(v) or replica (v+2) mod n.
func (g *Gen) senderIn(kind, v uint64) uint64 {
	if kind == spec.KindPrePrepare {
		return g.Primary(v)
	}
	return (v + 2) % g.N
}

func confSlotCases() []Case {
	d, d2 := tag("batch-a"), tag("batch-b")
	s := tag("state-a")
	list := []slotCase{
		{"Q1", "unknown-sender", "from replica 4 (n = 4)", spec.CodeUnknownSender, func(g *Gen, k uint64) spec.Input {
			return g.msgAs(k, spec.Slot{View: 0, Seq: 1, Digest: d, Replica: 4}, spec.RolePrep, 0, domainOf(k))
		}},
		{"Q1", "before-Q2", "Q1 precedes Q2: replica 4 in view 3", spec.CodeUnknownSender, func(g *Gen, k uint64) spec.Input {
			return g.msgAs(k, spec.Slot{View: 3, Seq: 1, Digest: d, Replica: 4}, spec.RolePrep, 0, domainOf(k))
		}},
		{"Q2", "wrong-view", "for view 1 while conf is in view 0", spec.CodeWrongView, func(g *Gen, k uint64) spec.Input {
			return g.msg(k, 1, 1, d, g.senderIn(k, 1))
		}},
		{"Q2", "stale", "for view 0 after conf accepted the NEW-VIEW for view 1", spec.CodeStale, func(g *Gen, k uint64) spec.Input {
			g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
			return g.msg(k, 0, 1, d, sender(k))
		}},
		{"Q2", "stale-while-changing", "for view 0 after a suspicion moved conf to view 1 (Q2 precedes Q3)", spec.CodeStale, func(g *Gen, k uint64) spec.Input {
			g.Setup(inSuspect(0))
			return g.msg(k, 0, 1, d, sender(k))
		}},
		{"Q2", "wrong-view-while-changing", "for view 2 while conf is changing to view 1 (Q2 precedes Q3)", spec.CodeWrongView, func(g *Gen, k uint64) spec.Input {
			g.Setup(inSuspect(0))
			return g.msg(k, 2, 1, d, g.senderIn(k, 2))
		}},
		{"Q3", "view-changing", "for view 1 after a suspicion moved conf to view 1 and before its NEW-VIEW", spec.CodeViewChanging, func(g *Gen, k uint64) spec.Input {
			g.Setup(inSuspect(0))
			return g.msg(k, 1, 1, d, g.senderIn(k, 1))
		}},
		{"Q3", "before-Q4", "Q3 precedes Q4: view 1 while changing, from the wrong sender", spec.CodeViewChanging, func(g *Gen, k uint64) spec.Input {
			g.Setup(inSuspect(0))
			r := uint64(2) // not primary(1) for a pre-prepare
			if k == spec.KindPrepare {
				r = 1 // primary(1) for a prepare
			}
			return g.msgAs(k, spec.Slot{View: 1, Seq: 1, Digest: d, Replica: r}, spec.RolePrep, r, domainOf(k))
		}},
		{"Q4", "wrong-sender", "a pre-prepare from replica 2 / a prepare from the primary 0", spec.CodeNotPrimary, func(g *Gen, k uint64) spec.Input {
			r := uint64(2)
			if k == spec.KindPrepare {
				r = 0
			}
			return g.msgAs(k, spec.Slot{View: 0, Seq: 1, Digest: d, Replica: r}, spec.RolePrep, r, domainOf(k))
		}},
		{"Q4", "before-Q5", "Q4 precedes Q5: wrong sender at seq 0", spec.CodeNotPrimary, func(g *Gen, k uint64) spec.Input {
			r := uint64(3)
			if k == spec.KindPrepare {
				r = 0
			}
			return g.msgAs(k, spec.Slot{View: 0, Seq: 0, Digest: d, Replica: r}, spec.RolePrep, r, domainOf(k))
		}},
		{"Q5", "seq-zero", "for seq 0", spec.CodeStale, func(g *Gen, k uint64) spec.Input {
			return g.msg(k, 0, 0, d, sender(k))
		}},
		{"Q5", "beyond-window", "for seq 17 > h + L", spec.CodeOutOfWindow, func(g *Gen, k uint64) spec.Input {
			return g.msg(k, 0, 17, d, sender(k))
		}},
		{"Q5", "at-stable", "for seq 4 after checkpoint 4 became stable", spec.CodeStale, func(g *Gen, k uint64) spec.Input {
			g.Setup(g.cps(4, s, 0, 2, 3)...)
			return g.msg(k, 0, 4, d, sender(k))
		}},
		{"Q5", "beyond-moved-window", "for seq 21 after checkpoint 4 became stable", spec.CodeOutOfWindow, func(g *Gen, k uint64) spec.Input {
			g.Setup(g.cps(4, s, 0, 2, 3)...)
			return g.msg(k, 0, 21, d, sender(k))
		}},
		{"Q5", "before-Q6", "Q5 precedes Q6: seq 17 with a corrupted signature", spec.CodeOutOfWindow, func(g *Gen, k uint64) spec.Input {
			in := g.msgAs(k, spec.Slot{View: 0, Seq: 17, Digest: d, Replica: sender(k)}, spec.RolePrep, 1, domainOf(k))
			return in
		}},
		{"Q6", "flipped", "with a corrupted signature", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			s := spec.Slot{View: 0, Seq: 1, Digest: d, Replica: sender(k)}
			sig := flip(g.slotSigned(spec.RolePrep, sender(k), domainOf(k), s))
			if k == spec.KindPrePrepare {
				return inPP(spec.PrePrepare{Body: s, Sig: sig})
			}
			return inPrepare(spec.Prepare{Body: s, Sig: sig})
		}},
		{"Q6", "other-domain", "signed by the right prep under the other Slot domain (prepare / pre-prepare)", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			return g.msgAs(k, spec.Slot{View: 0, Seq: 1, Digest: d, Replica: sender(k)}, spec.RolePrep, sender(k), otherDomain(k))
		}},
		{"Q6", "commit-domain", "signed by the sender's conf under the commit domain", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			return g.msgAs(k, spec.Slot{View: 0, Seq: 1, Digest: d, Replica: sender(k)}, spec.RoleConf, sender(k), spec.DomainCommit)
		}},
		{"Q6", "other-signer", "naming its sender but signed by prep 3", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			return g.msgAs(k, spec.Slot{View: 0, Seq: 1, Digest: d, Replica: sender(k)}, spec.RolePrep, 3, domainOf(k))
		}},
		{"Q6", "other-cluster", "signed by the right prep for another configuration digest", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			s := spec.Slot{View: 0, Seq: 1, Digest: d, Replica: sender(k)}
			sig := g.signOtherCluster(spec.RolePrep, sender(k), domainOf(k), &s)
			if k == spec.KindPrePrepare {
				return inPP(spec.PrePrepare{Body: s, Sig: sig})
			}
			return inPrepare(spec.Prepare{Body: s, Sig: sig})
		}},
		{"Q6", "before-Q7", "Q6 precedes Q7: a conflicting message with a corrupted signature", spec.CodeBadSignature, func(g *Gen, k uint64) spec.Input {
			g.Setup(g.msg(k, 0, 1, d, sender(k)))
			s := spec.Slot{View: 0, Seq: 1, Digest: d2, Replica: sender(k)}
			return g.msgAs(k, s, spec.RolePrep, 3, domainOf(k))
		}},
		{"Q7", "conflict", "a second one from the same sender for (0, 1) with another digest", spec.CodeConflict, func(g *Gen, k uint64) spec.Input {
			g.Setup(g.msg(k, 0, 1, d, sender(k)))
			return g.msg(k, 0, 1, d2, sender(k))
		}},
		{"Q7", "conflict-committed", "another digest for a slot that already committed", spec.CodeConflict, func(g *Gen, k uint64) spec.Input {
			g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 2)), inPrepare(g.Prepare(0, 1, d, 3)))
			return g.msg(k, 0, 1, d2, sender(k))
		}},
		{"Q8", "duplicate", "the same message twice", spec.CodeDuplicate, func(g *Gen, k uint64) spec.Input {
			g.Setup(g.msg(k, 0, 1, d, sender(k)))
			return g.msg(k, 0, 1, d, sender(k))
		}},
	}
	var cs []Case
	for _, c := range list {
		c := c
		for _, k := range []uint64{spec.KindPrePrepare, spec.KindPrepare} {
			k := k
			cs = append(cs, Case{Name: c.rule + "-" + spec.KindName(k) + "-" + c.name, Rule: c.rule, Replica: 1,
				Comment: "a " + spec.KindName(k) + " " + c.what,
				Build: func(g *Gen) {
					g.Final(c.build(g, k))
					g.Reject(c.code)
				}})
		}
	}
	return cs
}

// confOrderCases are accept cases checking when exactly one COMMIT is emitted.
func confOrderCases() []Case {
	d, d2 := tag("batch-a"), tag("batch-b")
	return []Case{
		{Name: "Q-pre-prepare-accept", Rule: "Q8", Replica: 1,
			Comment: "a valid pre-prepare alone: stored, nothing emitted",
			Build: func(g *Gen) {
				g.Final(inPP(g.PrePrepare(0, 1, d)))
				g.Accept()
			}},
		{Name: "Q-prepare-accept", Rule: "Q8", Replica: 1,
			Comment: "a valid prepare alone: stored, nothing emitted",
			Build: func(g *Gen) {
				g.Final(inPrepare(g.Prepare(0, 1, d, 2)))
				g.Accept()
			}},
		{Name: "Q-commit-on-prepare", Rule: "Q8", Replica: 1,
			Comment: "pre-prepare and a prepare from 2 stored; the prepare from 3 makes 2f matching: exactly one COMMIT",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 2)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 3)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "Q-commit-on-pre-prepare", Rule: "Q8", Replica: 1,
			Comment: "two matching prepares stored first; the pre-prepare arrives last: exactly one COMMIT",
			Build: func(g *Gen) {
				g.Setup(inPrepare(g.Prepare(0, 1, d, 2)), inPrepare(g.Prepare(0, 1, d, 3)))
				g.Final(inPP(g.PrePrepare(0, 1, d)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "Q-commit-own-prepare", Rule: "Q8", Replica: 1,
			Comment: "the prepare of conf 1's own replica counts among the 2f",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 3)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 1)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "Q-no-commit-mismatch", Rule: "Q8", Replica: 1,
			Comment: "pre-prepare for D, prepares for D' (from 2) and D (from 3): only one matching, no COMMIT",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d2, 2)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 3)))
				g.Accept()
			}},
		{Name: "Q-no-commit-prepares-only", Rule: "Q8", Replica: 1,
			Comment: "three matching prepares without a pre-prepare: no COMMIT",
			Build: func(g *Gen) {
				g.Setup(inPrepare(g.Prepare(0, 1, d, 1)), inPrepare(g.Prepare(0, 1, d, 2)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 3)))
				g.Accept()
			}},
		{Name: "Q-no-second-commit", Rule: "Q8", Replica: 1,
			Comment: "the slot committed; a third matching prepare emits nothing",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 2)), inPrepare(g.Prepare(0, 1, d, 3)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 1)))
				g.Accept()
			}},
		{Name: "Q-commit-one-step", Rule: "Q8", Replica: 1,
			Comment: "seq 2 committed earlier; pre-prepare and a prepare for seq 1 stored; the last prepare commits seq 1 only",
			Build: func(g *Gen) {
				g.Setup(inPP(g.PrePrepare(0, 2, d2)), inPrepare(g.Prepare(0, 2, d2, 2)), inPrepare(g.Prepare(0, 2, d2, 3)))
				g.Setup(inPP(g.PrePrepare(0, 1, d)), inPrepare(g.Prepare(0, 1, d, 2)))
				g.Final(inPrepare(g.Prepare(0, 1, d, 3)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "Q-commit-after-stable", Rule: "Q5", Replica: 1,
			Comment: "checkpoint 4 stable: a slot at seq 20 = h + L commits",
			Build: func(g *Gen) {
				g.Setup(g.cps(4, tag("state-a"), 0, 2, 3)...)
				g.Setup(inPP(g.PrePrepare(0, 20, d)), inPrepare(g.Prepare(0, 20, d, 2)))
				g.Final(inPrepare(g.Prepare(0, 20, d, 3)))
				g.Accept(spec.KindCommit)
			}},
		{Name: "Q-commit-view-1", Rule: "Q8", Replica: 2,
			Comment: "after the NEW-VIEW for view 1 (primary 1): pre-prepare from 1 and prepares from 0 and 3 commit",
			Build: func(g *Gen) {
				g.Setup(inNV(g.NewView(1, g.genesisVCs(1, 0, 2, 3))))
				g.Setup(inPP(g.PrePrepare(1, 1, d)), inPrepare(g.Prepare(1, 1, d, 0)))
				g.Final(inPrepare(g.Prepare(1, 1, d, 3)))
				g.Accept(spec.KindCommit)
			}},
	}
}
