package conformance

import (
	"github.com/splitbft/splitbft/spec"
)

// This file holds exec's cases of SPEC.md §17: config operations (AD1–AD3, GP1–GP3),
// the epoch boundary and votes (EV1–EV3), and attestation (AT1–AT3). The exec under
// test is replica 1; commits come from the confs of 0, 2, 3. A config operation is
// observed through what executing its batch emits: a reply alone when it is rejected,
// a reply then an EPOCH-VOTE when it is accepted (the batch ends the epoch).

// Attestation signs an ATTESTATION of enr as replica r's exec under the current digest.
func (fx *Fixture) Attestation(enr *spec.Enrollment, r uint64) spec.Attestation {
	body := spec.AttestationBody{Enrollment: spec.EnrollmentDigest(&enr.Body), Replica: r}
	return spec.Attestation{Body: body, Sig: fx.Sign(spec.RoleExec, r, spec.DomainAttest, &body)}
}

// Admission is enr with the attestations of the execs of attesters, in that order.
func (fx *Fixture) Admission(enr spec.Enrollment, attesters ...uint64) spec.Admission {
	a := spec.Admission{Enrollment: enr}
	for _, r := range attesters {
		a.Attestations = append(a.Attestations, fx.Attestation(&enr, r))
	}
	return a
}

// MemberProposal signs changes for the current epoch by the members at the given indexes.
func (fx *Fixture) MemberProposal(epoch uint64, changes []spec.Change, members ...int) spec.ConfigProposal {
	p := spec.ConfigProposal{Body: spec.ConfigProposalBody{Epoch: epoch, Changes: changes}}
	p.Sigs = fx.memberSigs(spec.DomainProposal, spec.Encode(&p.Body), members)
	return p
}

// configOp is a request of client ci at ts whose one operation is op.
func (g *Gen) configOp(ci int, ts uint64, op spec.ConfigOp) spec.Request {
	op.Tag = spec.ConfigOpTag
	return g.Request(ci, ts, spec.Encode(&op))
}

// admitOp is a request of client 0 at ts 1 admitting admissions.
func (g *Gen) admitOp(admissions ...spec.Admission) spec.Batch {
	return batch(g.configOp(0, 1, spec.ConfigOp{Admit: admissions}))
}

// proposalOp is a request of client 0 at ts 1 carrying p.
func (g *Gen) proposalOp(p spec.ConfigProposal) spec.Batch {
	return batch(g.configOp(0, 1, spec.ConfigOp{Change: p}))
}

// boundaryNext is the configuration an exec computes when the batch at seq 1 held only
// client 100's accepted config operation at ts 1 (Fixture.boundaryNextAt1).
func (g *Gen) boundaryNext(change func(*spec.Config)) *spec.Config { return g.boundaryNextAt1(change) }

// vote signs replica r's EPOCH-VOTE for next.
func (g *Gen) vote(next *spec.Config, r uint64) spec.EpochVote {
	body := spec.EpochVoteBody{Next: spec.ConfigDigest(next), Replica: r}
	return spec.EpochVote{Body: body, Sig: g.Sign(spec.RoleExec, r, spec.DomainEpochVote, &body)}
}

func inVote(v spec.EpochVote) spec.Input    { return In(spec.KindEpochVote, &v) }
func inAttest(e spec.Enrollment) spec.Input { return In(spec.KindAttest, &e) }

var withMembers = &Params{F: 1, K: 4, L: 16, MaxBatch: 16, MaxOps: 4, MaxOpBytes: 1024, Clients: 3, Members: 3, Threshold: 2}

func execEpochCases() []Case {
	var cs []Case
	cs = append(cs, admissionCases()...)
	cs = append(cs, govProposalCases()...)
	cs = append(cs, boundaryCases()...)
	cs = append(cs, attestCases()...)
	return cs
}

func admissionCases() []Case {
	fresh := func(g *Gen) spec.Enrollment { return g.FreshEnrollment(spec.RolePrep, 3, "new-prep-3") }
	reject := func(name, rule, comment string, adm func(g *Gen) spec.Admission) Case {
		return Case{Name: name, Rule: rule, Replica: 1, Comment: comment, Build: func(g *Gen) {
			g.finishBatch(1, g.admitOp(adm(g)))
			g.Accept(spec.KindReply)
		}}
	}
	return []Case{
		{Name: "AD-accept", Rule: "AD3", Replica: 1,
			Comment: "a fresh prep for replica 3 attested by execs 0, 2, 3: the batch ends the epoch (reply, then the exec's EPOCH-VOTE)",
			Build: func(g *Gen) {
				g.finishBatch(1, g.admitOp(g.Admission(fresh(g), 0, 2, 3)))
				g.Accept(spec.KindReply, spec.KindEpochVote)
			}},
		reject("AD1-role", "AD1", "an enrollment naming role 3", func(g *Gen) spec.Admission {
			e := fresh(g)
			e.Body.Role = 3
			return g.Admission(e, 0, 2, 3)
		}),
		reject("AD1-replica", "AD1", "an enrollment for replica n = 4", func(g *Gen) spec.Admission {
			e := fresh(g)
			e.Body.Replica = 4
			return g.Admission(e, 0, 2, 3)
		}),
		reject("AD1-box-key", "AD1", "a prep enrollment with a box key", func(g *Gen) spec.Admission {
			e := fresh(g)
			e.Body.BoxKey = g.FreshEnrollment(spec.RoleExec, 3, "box").Body.BoxKey
			return g.Admission(e, 0, 2, 3)
		}),
		reject("AD2-key-in-config", "AD2", "an enrollment reusing replica 2's prep key", func(g *Gen) spec.Admission {
			e := fresh(g)
			e.Body.SignKey = g.SignKey(spec.RolePrep, 2)
			return g.Admission(e, 0, 2, 3)
		}),
		reject("AD3-too-few", "AD3", "2f = 2 attestations", func(g *Gen) spec.Admission {
			return g.Admission(fresh(g), 0, 2)
		}),
		reject("AD3-same-attester", "AD3", "q attestations, two from exec 2", func(g *Gen) spec.Admission {
			return g.Admission(fresh(g), 0, 2, 2)
		}),
		reject("AD3-bad-signature", "AD3", "one attestation's signature does not verify", func(g *Gen) spec.Admission {
			a := g.Admission(fresh(g), 0, 2, 3)
			a.Attestations[1].Sig = flip(a.Attestations[1].Sig)
			return a
		}),
		reject("AD3-other-enrollment", "AD3", "q attestations of another enrollment", func(g *Gen) spec.Admission {
			a := g.Admission(g.FreshEnrollment(spec.RolePrep, 3, "other"), 0, 2, 3)
			a.Enrollment = fresh(g)
			return a
		}),
	}
}

func govProposalCases() []Case {
	addClient := func(g *Gen) []spec.Change {
		c := g.Config.Clients[0]
		c.ID = 999
		c.SignKey = g.FreshEnrollment(spec.RolePrep, 0, "client-999").Body.SignKey
		c.BoxKey = g.FreshEnrollment(spec.RoleExec, 0, "client-999").Body.BoxKey
		return []spec.Change{{Op: spec.ChangeAddClient, Client: c}}
	}
	reject := func(name, rule, comment string, prop func(g *Gen) spec.ConfigProposal) Case {
		return Case{Name: name, Rule: rule, Replica: 1, Params: withMembers, Comment: comment, Build: func(g *Gen) {
			g.finishBatch(1, g.proposalOp(prop(g)))
			g.Accept(spec.KindReply)
		}}
	}
	return []Case{
		{Name: "GP-accept", Rule: "GP3", Replica: 1, Params: withMembers,
			Comment: "members 0 and 2 (threshold 2 of 3) add client 999: the batch ends the epoch",
			Build: func(g *Gen) {
				g.finishBatch(1, g.proposalOp(g.MemberProposal(0, addClient(g), 0, 2)))
				g.Accept(spec.KindReply, spec.KindEpochVote)
			}},
		reject("GP1-epoch", "GP1", "a proposal signed for epoch 1 in epoch 0", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(1, addClient(g), 0, 2)
		}),
		reject("GP2-below-threshold", "GP2", "one member signature, threshold 2", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(0, addClient(g), 1)
		}),
		reject("GP2-same-member", "GP2", "two signatures of member 1", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(0, addClient(g), 1, 1)
		}),
		reject("GP2-unknown-member", "GP2", "a signature claiming member index 3 of 3", func(g *Gen) spec.ConfigProposal {
			p := g.MemberProposal(0, addClient(g), 0, 2)
			p.Sigs[1].Member = 3
			return p
		}),
		reject("GP2-bad-signature", "GP2", "member 2's signature does not verify", func(g *Gen) spec.ConfigProposal {
			p := g.MemberProposal(0, addClient(g), 0, 2)
			p.Sigs[1].Sig = flip(p.Sigs[1].Sig)
			return p
		}),
		{Name: "GP2-no-members", Rule: "GP2", Replica: 1,
			Comment: "a configuration without members accepts no proposal",
			Build: func(g *Gen) {
				g.finishBatch(1, g.proposalOp(spec.ConfigProposal{Body: spec.ConfigProposalBody{Changes: addClient(g)}}))
				g.Accept(spec.KindReply)
			}},
		reject("GP3-no-changes", "GP3", "a signed proposal with no change", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(0, nil, 0, 2)
		}),
		reject("GP3-remove-unknown-client", "GP3", "remove-client of an id not registered", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(0, []spec.Change{{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: 999}}}, 0, 2)
		}),
		reject("GP3-unknown-op", "GP3", "a change with op 9", func(g *Gen) spec.ConfigProposal {
			return g.MemberProposal(0, []spec.Change{{Op: 9}}, 0, 2)
		}),
		reject("GP3-candidate-invalid", "GP3", "remove-build of the build every prep uses: the candidate configuration fails validation", func(g *Gen) spec.ConfigProposal {
			var b spec.BuildPolicy
			for _, p := range g.Config.Builds {
				if p.Role == spec.RolePrep {
					b = p
				}
			}
			return g.MemberProposal(0, []spec.Change{{Op: spec.ChangeRemoveBuild, Build: b}}, 0, 2)
		}),
	}
}

// prep3 is the configuration change of AD-accept: a fresh prep for replica 3.
func (g *Gen) prep3() (spec.Admission, func(*spec.Config)) {
	e := g.FreshEnrollment(spec.RolePrep, 3, "new-prep-3")
	return g.Admission(e, 0, 2, 3), func(c *spec.Config) { c.Replicas[3].Prep = e }
}

func boundaryCases() []Case {
	return []Case{
		{Name: "EV-boundary-stops", Rule: "E9", Replica: 1,
			Comment: "the batch at seq 1 ended the epoch: a batch committed at seq 2 is not executed (no reply)",
			Build: func(g *Gen) {
				adm, _ := g.prep3()
				g.commitBatch(1, g.admitOp(adm))
				g.finishBatch(2, g.batchOf(1, 1))
				g.Accept()
			}},
		{Name: "EV-quorum-changes-epoch", Rule: "EV3", Replica: 1,
			Comment: "after its own vote and exec 0's, exec 2's vote for the same next configuration completes q: the exec emits the EPOCH-CHANGE",
			Build: func(g *Gen) {
				adm, change := g.prep3()
				next := g.boundaryNext(change)
				g.commitBatch(1, g.admitOp(adm))
				g.Setup(inVote(g.vote(next, 0)))
				g.Final(inVote(g.vote(next, 2)))
				g.Accept(spec.KindEpochChange)
			}},
		{Name: "EV-new-exec-share", Rule: "EV3", Replica: 1,
			Comment: "an admitted exec for replica 3: completing q emits the EPOCH-CHANGE and a group key share for the new exec",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RoleExec, 3, "new-exec-3")
				next := g.boundaryNext(func(c *spec.Config) { c.Replicas[3].Exec = e })
				g.commitBatch(1, g.admitOp(g.Admission(e, 0, 2, 3)))
				g.Setup(inVote(g.vote(next, 0)))
				g.Final(inVote(g.vote(next, 2)))
				g.Accept(spec.KindEpochChange, spec.KindGroupKeyShares)
			}},
		{Name: "EV-other-config-no-change", Rule: "EV3", Replica: 1,
			Comment: "votes of 0 and 2 for another configuration are stored but make no epoch change",
			Build: func(g *Gen) {
				adm, _ := g.prep3()
				other := g.NextConfig(1, tag("other"), nil)
				g.commitBatch(1, g.admitOp(adm))
				g.Setup(inVote(g.vote(other, 0)))
				g.Final(inVote(g.vote(other, 2)))
				g.Accept()
			}},
		{Name: "EV-accept", Rule: "EV3", Replica: 1,
			Comment: "a vote before this exec reached a boundary is stored; nothing emitted",
			Build: func(g *Gen) {
				g.Final(inVote(g.vote(g.NextConfig(1, tag("s"), nil), 2)))
				g.Accept()
			}},
		{Name: "EV-replaces", Rule: "EV3", Replica: 1,
			Comment: "a second vote of exec 2 for another configuration replaces its first",
			Build: func(g *Gen) {
				g.Setup(inVote(g.vote(g.NextConfig(1, tag("s"), nil), 2)))
				g.Final(inVote(g.vote(g.NextConfig(1, tag("t"), nil), 2)))
				g.Accept()
			}},
		{Name: "EV1-unknown-sender", Rule: "EV1", Replica: 1,
			Comment: "a vote from replica n = 4",
			Build: func(g *Gen) {
				v := g.vote(g.NextConfig(1, tag("s"), nil), 2)
				v.Body.Replica = 4
				g.Final(inVote(v))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "EV2-bad-signature", Rule: "EV2", Replica: 1,
			Comment: "a vote whose signature does not verify",
			Build: func(g *Gen) {
				v := g.vote(g.NextConfig(1, tag("s"), nil), 2)
				v.Sig = flip(v.Sig)
				g.Final(inVote(v))
				g.Reject(spec.CodeBadSignature)
			}},
		{Name: "EV3-duplicate", Rule: "EV3", Replica: 1,
			Comment: "the same vote twice",
			Build: func(g *Gen) {
				v := g.vote(g.NextConfig(1, tag("s"), nil), 2)
				g.Setup(inVote(v))
				g.Final(inVote(v))
				g.Reject(spec.CodeDuplicate)
			}},
	}
}

func attestCases() []Case {
	return []Case{
		{Name: "AT-accept", Rule: "AT3", Replica: 1,
			Comment: "a fresh dev-insecure prep enrollment for replica 3 (the configuration allows dev-insecure): attested",
			Build: func(g *Gen) {
				g.Final(inAttest(g.FreshEnrollment(spec.RolePrep, 3, "new")))
				g.Accept(spec.KindAttestation)
			}},
		{Name: "AT-accept-exec", Rule: "AT3", Replica: 1,
			Comment: "a fresh exec enrollment for replica 1's own slot: attested",
			Build: func(g *Gen) {
				g.Final(inAttest(g.FreshEnrollment(spec.RoleExec, 1, "new")))
				g.Accept(spec.KindAttestation)
			}},
		{Name: "AT1-role", Rule: "AT1", Replica: 1,
			Comment: "an enrollment naming role 3",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RolePrep, 3, "new")
				e.Body.Role = 3
				g.Final(inAttest(e))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "AT1-exec-without-box", Rule: "AT1", Replica: 1,
			Comment: "an exec enrollment with a zero box key",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RoleExec, 3, "new")
				e.Body.BoxKey = spec.PublicKey{}
				g.Final(inAttest(e))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "AT1-build", Rule: "AT1", Replica: 1,
			Comment: "a build name with an upper-case letter",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RolePrep, 3, "new")
				e.Body.Build = []byte("Prep")
				g.Final(inAttest(e))
				g.Reject(spec.CodeBadConfig)
			}},
		{Name: "AT2-key-in-config", Rule: "AT2", Replica: 1,
			Comment: "the enrollment of replica 3's prep as configured (its key is in the configuration)",
			Build: func(g *Gen) {
				g.Final(inAttest(*g.Config.Enrollment(spec.RolePrep, 3)))
				g.Reject(spec.CodeDuplicate)
			}},
		{Name: "AT3-bad-report", Rule: "AT3", Replica: 1,
			Comment: "ego-sgx evidence whose report is garbage",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RolePrep, 3, "new")
				e.Evidence = spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte("not a report")}
				g.Final(inAttest(e))
				g.Reject(spec.CodeBadEvidence)
			}},
		{Name: "AT3-unaccepted-build", Rule: "AT3", Replica: 1,
			Comment: "a dev-insecure enrollment of a build no policy accepts",
			Build: func(g *Gen) {
				e := g.FreshEnrollment(spec.RolePrep, 3, "new")
				e.Body.Build = []byte("prep-unknown")
				g.Final(inAttest(e))
				g.Reject(spec.CodeBadEvidence)
			}},
	}
}
