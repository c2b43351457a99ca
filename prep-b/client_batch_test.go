package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// expectedProposal builds the proposal output the primary must emit for b at (v, s).
func (fx *fixture) expectedProposal(v, s uint64, b spec.Batch) spec.Output {
	body := spec.Slot{View: v, Seq: s, Digest: spec.BatchDigest(&b), Replica: fx.Me}
	pp := spec.PrePrepare{Body: body, Sig: fx.Sign(fx.Preps[fx.Me], spec.DomainPrePrepare, &body)}
	return agreebtest.Output(spec.KindProposal, spec.ToPrep|spec.ToConf|spec.ToExec, &spec.Proposal{Header: pp, Batch: b})
}

// TestClientBatchAccepted checks the happy path of §9.3 byte for byte, across
// several steps, until the window is full.
func TestClientBatchAccepted(t *testing.T) {
	fx := newFixture(t, 0, 31)
	for s := uint64(1); s <= agreebtest.L; s++ {
		b := fx.Batch(int(s%agreebtest.MaxBatch) + 1)
		outs := fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b))
		fx.ExpectOutputs(outs, []spec.Output{fx.expectedProposal(0, s, b)})
		if st := fx.Status(); st.Last != s {
			t.Fatalf("seed %d: Last = %d after proposing %d", fx.Seed, st.Last, s)
		}
	}
	b := fx.Batch(1)
	fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &b), spec.CodeWindowFull, 0) // B3
}

// TestClientBatchRules covers B1, B2 (both codes) and B3, each failing alone.
func TestClientBatchRules(t *testing.T) {
	t.Run("B1 not primary", func(t *testing.T) {
		fx := newFixture(t, 1, 32)
		b := fx.Batch(1)
		fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &b), spec.CodeNotPrimary, 0)
	})
	t.Run("B2 empty", func(t *testing.T) {
		fx := newFixture(t, 0, 33)
		fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &spec.Batch{}), spec.CodeEmptyBatch, 0)
	})
	t.Run("B2 too many", func(t *testing.T) {
		fx := newFixture(t, 0, 34)
		b := fx.Batch(agreebtest.MaxBatch + 1)
		fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &b), spec.CodeBatchLimit, 0)
	})
	t.Run("B3 window full", func(t *testing.T) {
		fx := newFixture(t, 0, 35)
		for s := 0; s < agreebtest.L; s++ {
			b := fx.Batch(1)
			fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b))
		}
		b := fx.Batch(1)
		fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &b), spec.CodeWindowFull, 0)
	})
}

// badRequests returns, per line R1–R5, a request failing exactly that line.
func (fx *fixture) badRequests() []struct {
	name string
	req  spec.Request
	code uint64
} {
	good := fx.Request(10, 5, 1)
	unknown := fx.SignRequest(spec.RequestBody{Client: 11, Timestamp: 1, Ops: good.Body.Ops})
	noOps := fx.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1})
	manyOps := fx.Request(10, 1, agreebtest.MaxOps+1)
	shortOp := fx.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 16)}}})
	longOp := fx.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, agreebtest.MaxOpSize+1)}}})
	ts0 := fx.Request(20, 0, 1)
	tsOverflow := fx.Request(20, ^uint64(0), 2)
	badSig := fx.Request(30, 9, 1)
	badSig.Sig[5] ^= 1
	return []struct {
		name string
		req  spec.Request
		code uint64
	}{
		{"R1 unknown client", unknown, spec.CodeUnknownSender},
		{"R2 no ops", noOps, spec.CodeBatchLimit},
		{"R2 too many ops", manyOps, spec.CodeBatchLimit},
		{"R3 op too short", shortOp, spec.CodeBatchLimit},
		{"R3 op too long", longOp, spec.CodeBatchLimit},
		{"R4 timestamp 0", ts0, spec.CodeBadTimestamp},
		{"R4 timestamp overflow", tsOverflow, spec.CodeBadTimestamp},
		{"R5 bad signature", badSig, spec.CodeBadSignature},
	}
}

// TestClientBatchRequestRules covers R1–R5 inside a client-batch: each failing
// request gets its own rejection with Sub = j+1 and is dropped; the rest is
// proposed in order; if none remains the batch is rejected with empty-batch.
func TestClientBatchRequestRules(t *testing.T) {
	fx := newFixture(t, 0, 36)
	seq := uint64(0)
	for _, c := range fx.badRequests() {
		t.Run(c.name, func(t *testing.T) {
			fx.T = t
			ok1, ok2 := fx.Request(10, 50, 1), fx.Request(20, 60, 2)
			b := spec.Batch{Requests: []spec.Request{ok1, c.req, ok2}}
			outs := fx.Step(agreebtest.Input(spec.KindClientBatch, &b))
			seq++
			fx.ExpectOutputs(outs, []spec.Output{
				agreebtest.Rejection(0, spec.KindClientBatch, c.code, 2),
				fx.expectedProposal(0, seq, spec.Batch{Requests: []spec.Request{ok1, ok2}}),
			})
			// Alone, the bad request leaves nothing: per-request rejection, then empty-batch.
			before := fx.P.DebugState()
			outs = fx.Step(agreebtest.Input(spec.KindClientBatch, &spec.Batch{Requests: []spec.Request{c.req}}))
			fx.ExpectOutputs(outs, []spec.Output{
				agreebtest.Rejection(0, spec.KindClientBatch, c.code, 1),
				agreebtest.Rejection(0, spec.KindClientBatch, spec.CodeEmptyBatch, 0),
			})
			if fx.P.DebugState() != before {
				t.Fatalf("seed %d: an all-rejected batch changed the state", fx.Seed)
			}
			// Let a checkpoint free the window for the next case.
			if seq%agreebtest.K == 0 {
				fx.MakeStable(seq)
			}
		})
	}
}
