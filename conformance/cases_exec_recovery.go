package conformance

import "github.com/splitbft/splitbft/spec"

// This file holds exec's cases of the recovery vote (RW1–RW3), the recovery input
// (RC5, and RC1–RC4 of its plan), adopting C' (SPEC.md §17.8), and what a replaying
// exec refuses (A2, A3 as §17.8 reads them).

func recoveryVoteCases() []Case {
	other := func(g *Gen, next *spec.Config) *spec.Config { return RecoveryNext(next, tag("other-state")) }
	reject := func(name, rule, comment string, code uint64, vote func(g *Gen, next *spec.Config) spec.EpochVote) Case {
		return recoveryCase(name, rule, comment, func(g *Gen) {
			next, _ := g.atGenesisHead()
			g.Final(inRecoveryVote(vote(g, next)))
			g.Reject(code)
		})
	}
	return []Case{
		recoveryCase("RW-accept", "RW3", "replaying to head 4, before its own vote: exec 2's vote is stored; nothing emitted",
			func(g *Gen) {
				tmpl, _ := g.recovering(4, g.genesisBase())
				g.Final(inRecoveryVote(g.RecoveryVote(RecoveryNext(tmpl, scenarioDigest()), 2)))
				g.Accept()
			}),
		recoveryCase("RW-quorum", "RW3", "head = base = genesis: the exec voted at recover; exec 0's and then exec 2's vote for the same C' complete q: it emits the recovery",
			func(g *Gen) {
				next, _ := g.atGenesisHead()
				g.Setup(inRecoveryVote(g.RecoveryVote(next, 0)))
				g.Final(inRecoveryVote(g.RecoveryVote(next, 2)))
				g.Accept(spec.KindRecovery)
			}),
		recoveryCase("RW-quorum-at-head", "RW3", "votes of execs 0 and 2 for C' with StartState the digest of scenarioSnapshot are stored; replaying runScenario reaches the head: the exec votes for the same C' and emits the recovery",
			func(g *Gen) {
				tmpl, _ := g.recovering(4, g.genesisBase())
				next := RecoveryNext(tmpl, scenarioDigest())
				g.Setup(inRecoveryVote(g.RecoveryVote(next, 0)), inRecoveryVote(g.RecoveryVote(next, 2)))
				g.Final(g.runScenario(false))
				g.Accept(spec.KindRecoveryVote, spec.KindRecovery)
			}),
		recoveryCase("RW-other-next", "RW3", "votes of execs 0 and 2 for another C' are stored but make no recovery",
			func(g *Gen) {
				next, _ := g.atGenesisHead()
				g.Setup(inRecoveryVote(g.RecoveryVote(other(g, next), 0)))
				g.Final(inRecoveryVote(g.RecoveryVote(other(g, next), 2)))
				g.Accept()
			}),
		recoveryCase("RW-replaces", "RW3", "a second vote of exec 2 for another C' replaces its first",
			func(g *Gen) {
				next, _ := g.atGenesisHead()
				g.Setup(inRecoveryVote(g.RecoveryVote(other(g, next), 2)))
				g.Final(inRecoveryVote(g.RecoveryVote(next, 2)))
				g.Accept()
			}),
		reject("RW1-unknown-sender", "RW1", "a vote from replica n = 4", spec.CodeUnknownSender, func(g *Gen, next *spec.Config) spec.EpochVote {
			return g.RecoveryVote(next, 4)
		}),
		reject("RW2-bad-signature", "RW2", "exec 2's vote whose signature does not verify", spec.CodeBadSignature, func(g *Gen, next *spec.Config) spec.EpochVote {
			v := g.RecoveryVote(next, 2)
			v.Sig = flip(v.Sig)
			return v
		}),
		reject("RW2-key-of-c", "RW2", "a vote for replica 2 signed by exec 2 of C, not of C'", spec.CodeBadSignature, func(g *Gen, next *spec.Config) spec.EpochVote {
			body := spec.EpochVoteBody{Next: spec.ConfigDigest(next), Replica: 2}
			return spec.EpochVote{Body: body, Sig: g.Sign(spec.RoleExec, 2, spec.DomainRecoveryVote, &body)}
		}),
		recoveryCase("RW3-duplicate", "RW3", "the same vote of exec 2 twice",
			func(g *Gen) {
				next, _ := g.atGenesisHead()
				v := inRecoveryVote(g.RecoveryVote(other(g, next), 2))
				g.Setup(v)
				g.Final(v)
				g.Reject(spec.CodeDuplicate)
			}),
		{Name: "RW-configured", Rule: "RW1", Replica: 1, Params: withMembers,
			Comment: "a recovery vote at an exec configured with C is stale",
			Build: func(g *Gen) {
				g.Final(inRecoveryVote(g.RecoveryVote(RecoveryNext(g.RecoveryTemplate(0, nil), tag("s")), 2)))
				g.Reject(spec.CodeStale)
			}},
	}
}

func recoveryInputCases() []Case {
	reject := func(name, rule, comment string, code uint64, rc func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery) Case {
		return recoveryCase(name, rule, comment, func(g *Gen) {
			next, plan := g.atGenesisHead()
			g.Final(inRecovery(rc(g, next, plan)))
			g.Reject(code)
		})
	}
	return []Case{
		recoveryCase("RC5-accept", "RC5", "head = base = genesis, own vote made: the recovery with the votes of 0, 2, 3 is adopted; nothing emitted",
			func(g *Gen) {
				next, plan := g.atGenesisHead()
				g.Final(inRecovery(g.Recovery(plan, next, 0, 2, 3)))
				g.Accept()
			}),
		recoveryCase("RC5-accept-before-head", "RC5", "replaying to head 4, nothing replayed yet: a valid recovery is adopted (the exec then wants state transfer)",
			func(g *Gen) {
				tmpl, plan := g.recovering(4, g.genesisBase())
				g.Final(inRecovery(g.Recovery(plan, RecoveryNext(tmpl, scenarioDigest()), 0, 2, 3)))
				g.Accept()
			}),
		recoveryCase("RC-adopted-executes", "RC5", "after adopting C' (head 0) the exec is an exec of C': a batch committed at seq 1 by the confs of C' executes and replies",
			func(g *Gen) {
				next, plan := g.atGenesisHead()
				g.Setup(inRecovery(g.Recovery(plan, next, 0, 2, 3)))
				g.EnterRecovery(next)
				g.finishBatch(1, g.batchOf(0, 1))
				g.Accept(spec.KindReply)
			}),
		recoveryCase("RC-foreign-retires", "RC5", "a valid recovery by another plan whose C' holds another exec in slot 1: the exec retires",
			func(g *Gen) {
				g.recovering(0, g.genesisBase())
				tmpl := g.RecoveryTemplate(0, func(c *spec.Config) { c.Replicas[1].Exec = g.FreshEnrollment(spec.RoleExec, 1, "someone-else") })
				next := RecoveryNext(tmpl, spec.StateDigest(genesisSnapshot()))
				g.Final(inRecovery(g.Recovery(g.RecoveryPlan(tmpl, g.genesisBase(), 1, 2), next, 0, 2, 3)))
				g.Accept()
			}),
		reject("RC5-two-votes", "RC5", "two votes (q = 3)", spec.CodeBadCertificate, func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery {
			return g.Recovery(plan, next, 0, 2)
		}),
		reject("RC5-unsorted", "RC5", "the votes of 2, 0, 3 in that order", spec.CodeBadCertificate, func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery {
			return g.Recovery(plan, next, 2, 0, 3)
		}),
		reject("RC5-unknown-voter", "RC5", "the votes of 0, 2 and replica n = 4", spec.CodeBadCertificate, func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery {
			return g.Recovery(plan, next, 0, 2, 4)
		}),
		reject("RC5-bad-vote", "RC5", "exec 3's vote does not verify", spec.CodeBadCertificate, func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery {
			rc := g.Recovery(plan, next, 0, 2, 3)
			rc.Votes[2].Sig = flip(rc.Votes[2].Sig)
			return rc
		}),
		reject("RC5-votes-for-other", "RC5", "Config is C' but the votes are for C' with another StartState", spec.CodeBadCertificate, func(g *Gen, next *spec.Config, plan spec.RecoveryPlan) spec.Recovery {
			rc := g.Recovery(plan, RecoveryNext(next, tag("other-state")), 0, 2, 3)
			rc.Config = spec.Encode(next)
			return rc
		}),
		reject("RC2-recovery-one-member", "RC2", "a recovery whose plan carries one member signature", spec.CodeBadSignature, func(g *Gen, next *spec.Config, _ spec.RecoveryPlan) spec.Recovery {
			return g.Recovery(g.RecoveryPlan(g.RecoveryTemplate(0, nil), g.genesisBase(), 0), next, 0, 2, 3)
		}),
		{Name: "RC-configured", Rule: "RC5", Replica: 1, Params: withMembers,
			Comment: "a recovery at an exec configured with C is stale",
			Build: func(g *Gen) {
				tmpl := g.RecoveryTemplate(0, nil)
				next := RecoveryNext(tmpl, spec.StateDigest(genesisSnapshot()))
				g.Final(inRecovery(g.Recovery(g.RecoveryPlan(tmpl, g.genesisBase(), 0, 1), next, 0, 2, 3)))
				g.Reject(spec.CodeStale)
			}},
	}
}

func replayRefusesCases() []Case {
	refuse := func(name, rule string, code uint64, comment string, input func(g *Gen) spec.Input) Case {
		return recoveryCase(name, rule, "replaying: "+comment, func(g *Gen) {
			g.recovering(4, g.genesisBase())
			g.Final(input(g))
			g.Reject(code)
		})
	}
	return []Case{
		refuse("RP-refuses-configure", "A3", spec.CodeConfigured, "configure", func(g *Gen) spec.Input { return g.Configure() }),
		refuse("RP-refuses-deal", "A3", spec.CodeConfigured, "group-key-deal", func(g *Gen) spec.Input {
			return In(spec.KindGroupKeyDeal, &spec.GroupKeyDeal{Execs: g.execBodies()})
		}),
		refuse("RP-refuses-seal-key", "A2", spec.CodeNotConfigured, "seal-key", func(g *Gen) spec.Input {
			return In(spec.KindSealKey, &spec.SealGet{})
		}),
		refuse("RP-refuses-checkpoint", "A2", spec.CodeNotConfigured, "a checkpoint of C", func(g *Gen) spec.Input {
			return inCP(g.Checkpoint(4, scenarioDigest(), 2))
		}),
		refuse("RP-refuses-state-request", "A2", spec.CodeNotConfigured, "a state request", func(g *Gen) spec.Input {
			return inStateReq(spec.StateRequest{Seq: 0, Replica: 2})
		}),
		refuse("RP-refuses-epoch-vote", "A2", spec.CodeNotConfigured, "an epoch vote", func(g *Gen) spec.Input {
			return inVote(g.vote(g.NextConfig(1, tag("s"), nil), 2))
		}),
		{Name: "RW-not-replaying", Rule: "A2", Replica: 1, Params: withMembers, Fresh: true,
			Comment: "a fresh exec that got no recover: a recovery vote is not-configured",
			Build: func(g *Gen) {
				g.Final(inRecoveryVote(g.RecoveryVote(RecoveryNext(g.RecoveryTemplate(0, nil), tag("s")), 2)))
				g.Reject(spec.CodeNotConfigured)
			}},
		{Name: "RC-not-replaying", Rule: "A2", Replica: 1, Params: withMembers, Fresh: true,
			Comment: "a fresh exec that got no recover: a recovery is not-configured",
			Build: func(g *Gen) {
				tmpl := g.RecoveryTemplate(0, nil)
				next := RecoveryNext(tmpl, spec.StateDigest(genesisSnapshot()))
				g.Final(inRecovery(g.Recovery(g.RecoveryPlan(tmpl, g.genesisBase(), 0, 1), next, 0, 2, 3)))
				g.Reject(spec.CodeNotConfigured)
			}},
	}
}
