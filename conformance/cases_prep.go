package conformance

import (
	"github.com/splitbft/splitbft/spec"
)

// prepCases are the single-step vectors of the Preparation compartment (SPEC.md §9),
// plus the shared ones of §8. Unless a case says otherwise the compartment under test
// is replica 1, a backup in view 0 (primary 0).
func prepCases() []Case {
	var cs []Case
	cs = append(cs, proposalCases()...)
	cs = append(cs, clientBatchCases()...)
	cs = append(cs, requestCases()...)
	cs = append(cs, prepViewChangeCases()...)
	cs = append(cs, prepNewViewCases()...)
	cs = append(cs, commonCases(spec.RolePrep)...)
	return withRole(spec.RolePrep, cs)
}

// batchOf returns a batch with one single-put request from fixture client ci at
// timestamp ts.
func (g *Gen) batchOf(ci int, ts uint64) spec.Batch {
	return spec.Batch{Requests: []spec.Request{g.Request(ci, ts, PutOp("k", "v"))}}
}

func ptr[T any](v T) *T { return &v }

// badRequest is a request failing one of R1–R5 (§5), built by make.
type badRequest struct {
	rule, name, what string
	code             uint64
	make             func(g *Gen) spec.Request
}

// sealedOps returns n sealed ops with ciphertexts of size bytes (not openable).
func sealedOps(n, size int) []spec.SealedOp {
	ops := make([]spec.SealedOp, n)
	for i := range ops {
		ops[i].Ciphertext = make([]byte, size)
		ops[i].Nonce[0] = byte(i)
	}
	return ops
}

// badRequests lists requests each failing exactly one rule of R1–R5 (MaxRequestOps 4,
// MaxOpBytes 1024).
func badRequests() []badRequest {
	return []badRequest{
		{"R1", "unregistered-client", "a request from client 999, which is not registered", spec.CodeUnknownSender, func(g *Gen) spec.Request {
			r := g.SignRequest(0, spec.RequestBody{Client: 999, Timestamp: 1, Ops: sealedOps(1, 32)})
			return r
		}},
		{"R1", "before-R2", "R1 precedes R2: an unregistered client with no ops", spec.CodeUnknownSender, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: 999, Timestamp: 1})
		}},
		{"R2", "no-ops", "a request with no operation", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1})
		}},
		{"R2", "too-many-ops", "a request with 5 operations (MaxRequestOps = 4)", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			return g.Request(0, 1, PutOp("a", "1"), PutOp("b", "2"), PutOp("c", "3"), PutOp("d", "4"), PutOp("e", "5"))
		}},
		{"R2", "before-R4", "R2 precedes R4: Timestamp 0 and no ops", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 0})
		}},
		{"R3", "short-ciphertext", "an operation of 16 bytes (< 17: shorter than the AEAD tag plus one)", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1, Ops: sealedOps(1, 16)})
		}},
		{"R3", "long-ciphertext", "the second of two operations has 1025 bytes (MaxOpBytes = 1024)", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			ops := append(sealedOps(1, 100), sealedOps(1, 1025)...)
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1, Ops: ops})
		}},
		{"R3", "before-R4", "R3 precedes R4: Timestamp 0 and a 16-byte operation", spec.CodeBatchLimit, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 0, Ops: sealedOps(1, 16)})
		}},
		{"R4", "timestamp-zero", "a request with Timestamp 0", spec.CodeBadTimestamp, func(g *Gen) spec.Request {
			return g.Request(0, 0, PutOp("a", "1"))
		}},
		{"R4", "timestamp-overflow", "Timestamp 2^64-1 with two operations: the second would be 2^64", spec.CodeBadTimestamp, func(g *Gen) spec.Request {
			return g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: ^uint64(0), Ops: sealedOps(2, 40)})
		}},
		{"R4", "before-R5", "R4 precedes R5: Timestamp 0 with a corrupted signature", spec.CodeBadTimestamp, func(g *Gen) spec.Request {
			r := g.Request(0, 0, PutOp("a", "1"))
			r.Sig = flip(r.Sig)
			return r
		}},
		{"R5", "flipped", "a request whose signature is corrupted", spec.CodeBadSignature, func(g *Gen) spec.Request {
			r := g.Request(0, 1, PutOp("a", "1"))
			r.Sig = flip(r.Sig)
			return r
		}},
		{"R5", "other-client", "a request of client 100 signed by client 101", spec.CodeBadSignature, func(g *Gen) spec.Request {
			return g.SignRequest(1, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1, Ops: sealedOps(1, 32)})
		}},
		{"R5", "altered", "a request whose Timestamp was changed after signing", spec.CodeBadSignature, func(g *Gen) spec.Request {
			r := g.Request(0, 1, PutOp("a", "1"))
			r.Body.Timestamp = 2
			return r
		}},
		{"R5", "other-cluster", "a request signed for another configuration digest", spec.CodeBadSignature, func(g *Gen) spec.Request {
			body := spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1, Ops: sealedOps(1, 32)}
			var sig spec.Signature
			cd := g.CD
			cd[31] ^= 1
			copy(sig[:], signEd(g.clients[0].Sign, spec.SignedBytes(spec.DomainRequest, cd, spec.Encode(&body))))
			return spec.Request{Body: body, Sig: sig}
		}},
		{"R5", "wrong-domain", "a request body signed by its client under the pre-prepare domain", spec.CodeBadSignature, func(g *Gen) spec.Request {
			body := spec.RequestBody{Client: g.clients[0].ID, Timestamp: 1, Ops: sealedOps(1, 32)}
			var sig spec.Signature
			copy(sig[:], signEd(g.clients[0].Sign, spec.SignedBytes(spec.DomainPrePrepare, g.CD, spec.Encode(&body))))
			return spec.Request{Body: body, Sig: sig}
		}},
	}
}

// requestCases deliver each bad request in a client batch to the primary (after a
// good one: rejection with Sub 2, the good one is proposed) and inside a proposal to
// a backup (P11: the whole proposal is rejected with bad-request).
func requestCases() []Case {
	var cs []Case
	for _, b := range badRequests() {
		b := b
		cs = append(cs, Case{Name: b.rule + "-client-batch-" + b.name, Rule: b.rule, Replica: 0,
			Comment: "client-batch [good request, bad request] at the primary: the bad one is dropped with " + spec.CodeName(b.code) + " (Sub 2) and the good one proposed; bad: " + b.what,
			Build: func(g *Gen) {
				g.Final(inClientBatch(batch(g.Request(1, 1, PutOp("k", "v")), b.make(g))))
				g.Reject(b.code)
			}})
		cs = append(cs, Case{Name: "P11-" + b.rule + "-" + b.name, Rule: "P11", Replica: 1,
			Comment: "a proposal whose second request fails " + b.rule + " is rejected with bad-request (Sub 2): " + b.what,
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, batch(g.Request(1, 1, PutOp("k", "v")), b.make(g)))))
				g.Reject(spec.CodeBadRequest)
			}})
	}
	cs = append(cs,
		Case{Name: "R-client-batch-all-bad", Rule: "R1", Replica: 0,
			Comment: "client-batch whose only request fails R1: rejected (Sub 1), then the batch is rejected with empty-batch (Sub 0)",
			Build: func(g *Gen) {
				g.Final(inClientBatch(batch(badRequests()[0].make(g))))
				g.Reject(spec.CodeUnknownSender)
			}},
		Case{Name: "R4-max-timestamp-accept", Rule: "R4", Replica: 0,
			Comment: "Timestamp 2^64-1 with one operation does not overflow: the batch is proposed",
			Build: func(g *Gen) {
				g.Final(inClientBatch(batch(g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: ^uint64(0), Ops: sealedOps(1, 40)}))))
				g.Accept(spec.KindProposal)
			}},
		Case{Name: "R3-limits-accept", Rule: "R3", Replica: 0,
			Comment: "4 operations of 17 and 1024 bytes (the limits) pass R2 and R3: the batch is proposed",
			Build: func(g *Gen) {
				ops := append(sealedOps(2, 17), sealedOps(2, 1024)...)
				g.Final(inClientBatch(batch(g.SignRequest(0, spec.RequestBody{Client: g.clients[0].ID, Timestamp: 7, Ops: ops}))))
				g.Accept(spec.KindProposal)
			}},
		Case{Name: "P11-first-request", Rule: "P11", Replica: 1,
			Comment: "a proposal whose first request is from an unregistered client (Sub 1)",
			Build: func(g *Gen) {
				g.Final(inProposal(g.Proposal(0, 1, batch(badRequests()[0].make(g), g.Request(1, 1, PutOp("k", "v"))))))
				g.Reject(spec.CodeBadRequest)
			}},
	)
	return cs
}

func clientBatchCases() []Case {
	return []Case{
		{Name: "client-batch-primary", Rule: "B3", Replica: 0,
			Comment: "the primary orders a client batch at seq 1",
			Build: func(g *Gen) {
				g.Final(In(spec.KindClientBatch, ptr(g.batchOf(0, 1))))
				g.Accept(spec.KindProposal)
			}},
		{Name: "client-batch-not-primary", Rule: "B1", Replica: 1,
			Comment: "a backup refuses to order a client batch",
			Build: func(g *Gen) {
				g.Final(In(spec.KindClientBatch, ptr(g.batchOf(0, 1))))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "B1-before-B2", Rule: "B1", Replica: 2,
			Comment: "B1 precedes B2: an empty client batch at a backup is not-primary",
			Build: func(g *Gen) {
				g.Final(inClientBatch(spec.Batch{}))
				g.Reject(spec.CodeNotPrimary)
			}},
		{Name: "B2-empty", Rule: "B2", Replica: 0,
			Comment: "an empty client batch at the primary",
			Build: func(g *Gen) {
				g.Final(inClientBatch(spec.Batch{}))
				g.Reject(spec.CodeEmptyBatch)
			}},
		{Name: "B2-too-many", Rule: "B2", Replica: 0,
			Comment: "a client batch of 17 requests (MaxBatchRequests = 16)",
			Build: func(g *Gen) {
				g.Final(inClientBatch(g.manyRequests(17)))
				g.Reject(spec.CodeBatchLimit)
			}},
		{Name: "B2-limit-accept", Rule: "B2", Replica: 0,
			Comment: "a client batch of exactly 16 requests is proposed",
			Build: func(g *Gen) {
				g.Final(inClientBatch(g.manyRequests(16)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B3-window-full", Rule: "B3", Replica: 0,
			Comment: "after 16 proposals (seq 1..16 = h + L) the primary has no free sequence number",
			Build: func(g *Gen) {
				g.Setup(g.clientBatches(16)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Reject(spec.CodeWindowFull)
			}},
		{Name: "B3-window-moves", Rule: "B3", Replica: 0,
			Comment: "after 16 proposals, checkpoint 4 becomes stable: seq 17 ≤ h + L = 20 is free",
			Build: func(g *Gen) {
				g.Setup(g.clientBatches(16)...)
				g.Setup(g.cps(4, tag("state-a"), 1, 2, 3)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B3-seqhigh-after-stable", Rule: "B3", Replica: 0,
			Comment: "checkpoint 16 becomes stable with nothing proposed: seqHigh = h = 16, so the next batch takes seq 17 ≤ 32",
			Build: func(g *Gen) {
				g.Setup(g.cps(16, tag("state-a"), 1, 2, 3)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Accept(spec.KindProposal)
			}},
		{Name: "B3-sequence-of-batches", Rule: "B3", Replica: 0,
			Comment: "after two proposals, a third client batch is proposed (seq 3)",
			Build: func(g *Gen) {
				g.Setup(g.clientBatches(2)...)
				g.Final(inClientBatch(g.batchOf(2, 100)))
				g.Accept(spec.KindProposal)
			}},
	}
}

// manyRequests returns a batch of n single-op requests (clients round-robin).
func (g *Gen) manyRequests(n int) spec.Batch {
	var b spec.Batch
	for i := 0; i < n; i++ {
		b.Requests = append(b.Requests, g.Request(i%len(g.clients), uint64(1+i), PutOp("k", "v")))
	}
	return b
}

// clientBatches returns n client-batch inputs of one request each.
func (g *Gen) clientBatches(n int) []spec.Input {
	var ins []spec.Input
	for i := 0; i < n; i++ {
		ins = append(ins, inClientBatch(g.batchOf(i%len(g.clients), uint64(1+i))))
	}
	return ins
}
