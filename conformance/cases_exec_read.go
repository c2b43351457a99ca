package conformance

import "github.com/splitbft/splitbft/spec"

// execReadCases are the vectors of the fast read path at exec (SPEC.md §16.6, X1–X3).
// The ops are 17 random-looking bytes: they do not open, so an accepted READ is
// answered with undecryptable results, sealed for the client.
func execReadCases() []Case {
	op := spec.SealedOp{Nonce: spec.Nonce{1}, Ciphertext: make([]byte, 17)}
	read := func(client uint64, ops ...spec.SealedOp) spec.Input {
		return In(spec.KindRead, &spec.Read{Client: client, ReadID: 7, Ops: ops})
	}
	return []Case{
		{Name: "X-read-accept", Rule: "X3", Replica: 1,
			Comment: "a READ of a registered client is answered with one READ-REPLY and changes nothing",
			Build: func(g *Gen) {
				g.Final(read(g.clients[0].ID, op, op))
				g.Accept(spec.KindReadReply)
			}},
		{Name: "X1-unknown-client", Rule: "X1", Replica: 1,
			Comment: "a READ for a client not in the configuration",
			Build: func(g *Gen) {
				g.Final(read(999, op))
				g.Reject(spec.CodeUnknownSender)
			}},
		{Name: "X2-no-ops", Rule: "X2", Replica: 1,
			Comment: "a READ without operations",
			Build: func(g *Gen) {
				g.Final(read(g.clients[0].ID))
				g.Reject(spec.CodeBatchLimit)
			}},
		{Name: "X3-short-op", Rule: "X3", Replica: 1,
			Comment: "an operation shorter than the 16-byte AEAD tag plus one byte",
			Build: func(g *Gen) {
				g.Final(read(g.clients[0].ID, spec.SealedOp{Ciphertext: make([]byte, 16)}))
				g.Reject(spec.CodeBatchLimit)
			}},
	}
}
