package conformance

import "github.com/splitbft/splitbft/spec"

// prepCases are the single-step vectors of the Preparation compartment (SPEC.md §9).
// Unless a case says otherwise the compartment under test is replica 1, a backup in
// view 0.
func prepCases() []Case {
	return []Case{
		{Name: "proposal-accept", Role: spec.RolePrep, Rule: "P11", Replica: 1,
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
		{Name: "client-batch-primary", Role: spec.RolePrep, Rule: "B3", Replica: 0,
			Comment: "the primary orders a client batch at seq 1",
			Build: func(g *Gen) {
				g.Final(In(spec.KindClientBatch, ptr(g.batchOf(0, 1))))
				g.Accept(spec.KindProposal)
			}},
		{Name: "client-batch-not-primary", Role: spec.RolePrep, Rule: "B1", Replica: 1,
			Comment: "a backup refuses to order a client batch",
			Build: func(g *Gen) {
				g.Final(In(spec.KindClientBatch, ptr(g.batchOf(0, 1))))
				g.Reject(spec.CodeNotPrimary)
			}},
	}
}

// batchOf returns a batch with one single-put request from fixture client ci at
// timestamp ts.
func (g *Gen) batchOf(ci int, ts uint64) spec.Batch {
	return spec.Batch{Requests: []spec.Request{g.Request(ci, ts, PutOp("k", "v"))}}
}

func ptr[T any](v T) *T { return &v }
