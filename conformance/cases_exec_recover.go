package conformance

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file holds exec's cases of sealing the group key (SPEC.md §11.2) and of the
// recover input of a whole-cluster recovery (§17.8, RV1–RV6 with RC1–RC4 through the
// plan). Unless a case says otherwise the exec under test is a fresh exec 1 outside
// C (Case.Fresh), C has three members with threshold 2, and the plan is signed by
// members 0 and 1.

// recoveryCase is a fresh exec 1 of a recovery after the fixture's C (withMembers).
func recoveryCase(name, rule, comment string, build func(g *Gen)) Case {
	return Case{Name: name, Rule: rule, Replica: 1, Params: withMembers, Fresh: true, Comment: comment, Build: build}
}

// genesisBase is C's genesis certificate (the base of a replay from seq 0).
func (g *Gen) genesisBase() spec.CheckpointCert { return g.Config.GenesisCert() }

// base4 is the stable checkpoint (4, D) of C certified by execs 0, 2, 3, D the digest
// of scenarioSnapshot.
func (g *Gen) base4() spec.CheckpointCert { return g.CheckpointCert(4, scenarioDigest(), 0, 2, 3) }

// plan is the plan of members 0 and 1 for the template with head head (mod applied)
// from base.
func (g *Gen) plan(head uint64, base spec.CheckpointCert, mod func(*spec.Config)) spec.RecoveryPlan {
	return g.RecoveryPlan(g.RecoveryTemplate(head, mod), base, 0, 1)
}

// recoverFinal is the recover input with plan and C's sealed key as the final input.
func (g *Gen) recoverFinal(plan spec.RecoveryPlan) {
	g.Final(g.RecoverInput(plan, g.SealedKey()))
}

// rejectPlan is a case whose recover input carries plan(g) and is rejected with code
// by rule of the plan (RC1–RC4 through RV3).
func rejectPlan(name, rule, comment string, code uint64, plan func(g *Gen) spec.RecoveryPlan) Case {
	return recoveryCase(name, "RV3,"+rule, comment, func(g *Gen) {
		g.recoverFinal(plan(g))
		g.Reject(code)
	})
}

// rejectKey is a case whose recover input carries a valid plan and the sealed key
// sk(g), rejected bad-share (RV5).
func rejectKey(name, comment string, sk func(g *Gen) spec.SealedGroupKey) Case {
	return recoveryCase(name, "RV5", comment, func(g *Gen) {
		g.Final(g.RecoverInput(g.plan(4, g.genesisBase(), nil), sk(g)))
		g.Reject(spec.CodeBadShare)
	})
}

func execRecoverCases() []Case {
	var cs []Case
	cs = append(cs, sealKeyCases()...)
	cs = append(cs, recoverAcceptCases()...)
	cs = append(cs, planCases()...)
	cs = append(cs, sealedKeyCases()...)
	cs = append(cs, leadInCases()...)
	return cs
}

// leadInCases are RV6's rejections that the fixture's C (the chain's first
// configuration: nothing precedes it) can show; a lead-in that crosses an epoch is
// accepted and replayed in exec's own tests.
func leadInCases() []Case {
	lead := func(g *Gen, leads ...spec.LeadIn) {
		plan := g.plan(4, g.genesisBase(), nil)
		g.Final(In(spec.KindRecover, &spec.Recover{Prev: spec.Encode(g.Config), Plan: plan, SealedKey: g.SealedKey(), Lead: leads}))
	}
	return []Case{
		// C has no predecessor here, so each lead-in is also invalid on its own; exec's
		// TestLeadInRules has two valid ones.
		recoveryCase("RV6-two-lead-ins", "RV6", "a recover with two lead-ins (at most one)", func(g *Gen) {
			l := spec.LeadIn{Configs: [][]byte{spec.Encode(g.Config)}, Base: g.genesisBase()}
			lead(g, l, l)
			g.Reject(spec.CodeBadConfig)
		}),
		recoveryCase("RV6-empty-lead-in", "RV6", "a lead-in with no configuration", func(g *Gen) {
			lead(g, spec.LeadIn{Base: g.genesisBase()})
			g.Reject(spec.CodeBadConfig)
		}),
		recoveryCase("RV6-not-before-c", "RV6", "a lead-in through C itself: its digest is not C's Prev", func(g *Gen) {
			lead(g, spec.LeadIn{Configs: [][]byte{spec.Encode(g.Config)}, Base: g.genesisBase()})
			g.Reject(spec.CodeBadConfig)
		}),
	}
}

func sealKeyCases() []Case {
	seal := In(spec.KindSealKey, &spec.SealGet{})
	return []Case{
		{Name: "SK-accept", Rule: "A2", Replica: 1,
			Comment: "seal-key at a configured exec (§11.2): it emits its group key sealed (format 0 outside an enclave) and changes nothing",
			Build: func(g *Gen) {
				g.Final(seal)
				g.Accept(spec.KindSealedKey)
			}},
		{Name: "SK-not-configured", Rule: "A2", Replica: 1, NoConfigure: true,
			Comment: "seal-key before configure: the exec holds no group key",
			Build: func(g *Gen) {
				g.Final(seal)
				g.Reject(spec.CodeNotConfigured)
			}},
	}
}

func recoverAcceptCases() []Case {
	return []Case{
		recoveryCase("RV-accept", "RV5", "a valid recover from C's genesis to head 4: the exec holds g and replays; nothing emitted yet",
			func(g *Gen) {
				g.recoverFinal(g.plan(4, g.genesisBase(), nil))
				g.Accept()
			}),
		recoveryCase("RV-accept-absent-replica", "RV3,RC4", "a valid recover whose template carries replica 3's slot over from C (an absent replica, at most f): accepted as RV-accept",
			func(g *Gen) {
				r3 := g.Config.Replicas[3]
				g.recoverFinal(g.plan(4, g.genesisBase(), func(c *spec.Config) { c.Replicas[3] = r3 }))
				g.Accept()
			}),
		recoveryCase("RV-accept-head-at-base", "RV5", "a recover whose head is its base (genesis, 0): the replay is at the head at once and the exec emits its recovery vote",
			func(g *Gen) {
				g.recoverFinal(g.plan(0, g.genesisBase(), nil))
				g.Accept(spec.KindRecoveryVote)
			}),
		recoveryCase("RV-accept-base-above-genesis", "RV5", "a recover from the stable checkpoint (4, D) of C to head 8: the exec wants the base by state transfer; nothing emitted",
			func(g *Gen) {
				g.recoverFinal(g.plan(8, g.base4(), nil))
				g.Accept()
			}),
		{Name: "RV1-configured", Rule: "RV1", Replica: 1, Params: withMembers,
			Comment: "recover at an exec configured with C",
			Build: func(g *Gen) {
				g.recoverFinal(g.plan(4, g.genesisBase(), nil))
				g.Reject(spec.CodeConfigured)
			}},
		recoveryCase("RV1-twice", "RV1", "a second recover after an accepted one",
			func(g *Gen) {
				p := g.plan(4, g.genesisBase(), nil)
				g.Setup(g.RecoverInput(p, g.SealedKey()))
				g.recoverFinal(p)
				g.Reject(spec.CodeConfigured)
			}),
		recoveryCase("RV2-prev-garbage", "RV2", "Prev is not a Config",
			func(g *Gen) {
				g.Final(In(spec.KindRecover, &spec.Recover{Prev: []byte{0x83, 1, 2, 3}, Plan: g.plan(4, g.genesisBase(), nil), SealedKey: g.SealedKey()}))
				g.Reject(spec.CodeBadConfig)
			}),
		recoveryCase("RV2-prev-invalid", "RV2", "Prev decodes but fails validation (n = 5 with f = 1)",
			func(g *Gen) {
				p := g.plan(4, g.genesisBase(), nil)
				g.Final(In(spec.KindRecover, &spec.Recover{Prev: g.configWith(func(c *spec.Config) { c.N = 5 }), Plan: p, SealedKey: g.SealedKey()}))
				g.Reject(spec.CodeBadConfig)
			}),
		recoveryCase("RV4-not-in-template", "RV4", "a valid plan whose template holds another fresh exec in slot 1",
			func(g *Gen) {
				g.recoverFinal(g.plan(4, g.genesisBase(), func(c *spec.Config) {
					c.Replicas[1].Exec = g.FreshEnrollment(spec.RoleExec, 1, "someone-else")
				}))
				g.Reject(spec.CodeBadConfig)
			}),
	}
}

func planCases() []Case {
	base := func(g *Gen) spec.CheckpointCert { return g.genesisBase() }
	edited := func(mod func(*spec.Config)) func(g *Gen) spec.RecoveryPlan {
		return func(g *Gen) spec.RecoveryPlan { return g.plan(4, base(g), mod) }
	}
	return []Case{
		rejectPlan("RC1-template-garbage", "RC1", "a template that does not decode", spec.CodeBadConfig, func(g *Gen) spec.RecoveryPlan {
			return g.signPlan(spec.RecoveryPlanBody{Template: []byte{0x40}, Base: base(g)}, 0, 1)
		}),
		rejectPlan("RC1-epoch", "RC1", "a template for epoch 2 after epoch 0", spec.CodeStale, edited(func(c *spec.Config) { c.Epoch = 2 })),
		rejectPlan("RC1-prev", "RC1", "a template whose Prev is another digest", spec.CodeStale, edited(func(c *spec.Config) { c.Prev = tag("other") })),
		rejectPlan("RC2-too-few", "RC2", "one member signature, threshold 2", spec.CodeBadSignature, func(g *Gen) spec.RecoveryPlan {
			return g.RecoveryPlan(g.RecoveryTemplate(4, nil), base(g), 2)
		}),
		rejectPlan("RC2-same-member", "RC2", "member 1 twice", spec.CodeBadSignature, func(g *Gen) spec.RecoveryPlan {
			return g.RecoveryPlan(g.RecoveryTemplate(4, nil), base(g), 1, 1)
		}),
		rejectPlan("RC2-unknown-member", "RC2", "member 0 and a signature claiming member 3 of 3", spec.CodeBadSignature, func(g *Gen) spec.RecoveryPlan {
			p := g.RecoveryPlan(g.RecoveryTemplate(4, nil), base(g), 0, 1)
			p.Sigs[1].Member = 3
			return p
		}),
		rejectPlan("RC2-bad-signature", "RC2", "member 1's signature does not verify", spec.CodeBadSignature, func(g *Gen) spec.RecoveryPlan {
			p := g.plan(4, base(g), nil)
			p.Sigs[1].Sig = flip(p.Sigs[1].Sig)
			return p
		}),
		{Name: "RC2-no-members", Rule: "RV3,RC2", Replica: 1, Fresh: true,
			Comment: "C has no members (threshold 0): no plan is valid",
			Build: func(g *Gen) {
				g.recoverFinal(spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(g.RecoveryTemplate(4, nil)), Base: base(g)}})
				g.Reject(spec.CodeBadSignature)
			}},
		rejectPlan("RC3-base-two-checkpoints", "RC3", "a base certificate (4, D) with 2 checkpoints: fails K2", spec.CodeBadCertificate, func(g *Gen) spec.RecoveryPlan {
			return g.plan(8, g.CheckpointCert(4, scenarioDigest(), 0, 2), nil)
		}),
		rejectPlan("RC3-base-bad-signature", "RC3", "a base certificate whose second checkpoint's signature does not verify: fails K5", spec.CodeBadCertificate, func(g *Gen) spec.RecoveryPlan {
			b := g.base4()
			b.Proof[1].Sig = flip(b.Proof[1].Sig)
			return g.plan(8, b, nil)
		}),
		rejectPlan("RC3-base-above-head", "RC3", "base (4, D) above the head 3", spec.CodeBadCertificate, func(g *Gen) spec.RecoveryPlan {
			return g.plan(3, g.base4(), nil)
		}),
		rejectPlan("RC4-invalid-template", "RC4", "a template that fails validation (no exec group key)", spec.CodeBadConfig, edited(func(c *spec.Config) { c.ExecGroupKey = spec.PublicKey{} })),
		rejectPlan("RC4-window", "RC4", "a template with another window", spec.CodeBadConfig, edited(func(c *spec.Config) { c.Window *= 2 })),
		rejectPlan("RC4-group-key", "RC4", "a template with another exec group key", spec.CodeBadConfig, edited(func(c *spec.Config) { c.ExecGroupKey = freshKey("other-group") })),
		rejectPlan("RC4-start-state", "RC4", "a template with a start state", spec.CodeBadConfig, edited(func(c *spec.Config) { c.StartState = scenarioDigest() })),
		rejectPlan("RC4-key-of-c", "RC4", "a template reusing the conf key of replica 2 in C", spec.CodeDuplicate, func(g *Gen) spec.RecoveryPlan {
			old := g.Config.Replicas[2].Conf
			return g.plan(4, base(g), func(c *spec.Config) { c.Replicas[2].Conf = old })
		}),
		rejectPlan("RC4-two-absent", "RC4", "a template carrying the slots of replicas 2 and 3 over from C: more than f = 1 absent replicas", spec.CodeDuplicate, func(g *Gen) spec.RecoveryPlan {
			r2, r3 := g.Config.Replicas[2], g.Config.Replicas[3]
			return g.plan(4, base(g), func(c *spec.Config) { c.Replicas[2], c.Replicas[3] = r2, r3 })
		}),
		rejectPlan("RC4-box-key-of-c", "RC4", "a template whose exec 3 reuses the box key of exec 3 in C", spec.CodeDuplicate, func(g *Gen) spec.RecoveryPlan {
			old := g.Config.Replicas[3].Exec.Body.BoxKey
			return g.plan(4, base(g), func(c *spec.Config) { c.Replicas[3].Exec.Body.BoxKey = old })
		}),
	}
}

func sealedKeyCases() []Case {
	return []Case{
		rejectKey("RV5-other-group", "a format-0 key of another group (32 bytes whose public key is not C's ExecGroupKey)", func(g *Gen) spec.SealedGroupKey {
			return spec.SealedGroupKey{Format: spec.SealInsecure, Data: bytes.Repeat([]byte{7}, 32)}
		}),
		rejectKey("RV5-short", "a format-0 key of 31 bytes", func(g *Gen) spec.SealedGroupKey {
			return spec.SealedGroupKey{Format: spec.SealInsecure, Data: g.SealedKey().Data[:31]}
		}),
		rejectKey("RV5-product-outside-enclave", "C's key with format 1 (ego-product): an exec outside an enclave opens only format 0", func(g *Gen) spec.SealedGroupKey {
			sk := g.SealedKey()
			sk.Format = spec.SealEGoProduct
			return sk
		}),
		rejectKey("RV5-unknown-format", "C's key with format 9", func(g *Gen) spec.SealedGroupKey {
			sk := g.SealedKey()
			sk.Format = 9
			return sk
		}),
	}
}
