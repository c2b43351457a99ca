package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// expectedPrepare builds the PREPARE output the prep under test must emit.
func (fx *fixture) expectedPrepare(v, s uint64, d spec.Digest) spec.Output {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: fx.Me}
	return agreebtest.Output(spec.KindPrepare, spec.ToConf, &spec.Prepare{Body: body, Sig: fx.Sign(fx.Preps[fx.Me], spec.DomainPrepare, &body)})
}

// enterViewByNewView moves the prep under test to view w (w's primary ≠ me) with a
// NEW-VIEW built from genesis VIEW-CHANGEs of confs 0..q−1 and an empty O.
func (fx *fixture) enterViewByNewView(w uint64) {
	fx.T.Helper()
	var vcs []spec.ViewChange
	for r := uint64(0); r < 2*agreebtest.F+1; r++ {
		vcs = append(vcs, fx.ViewChange(w, r, agreebtest.Genesis()))
	}
	nv := fx.NewView(w, vcs, nil)
	fx.MustAccept(agreebtest.Input(spec.KindNewView, &nv))
	if st := fx.Status(); st.View != w {
		fx.T.Fatalf("seed %d: view %d, want %d", fx.Seed, st.View, w)
	}
}

// enterViewAsPrimary moves the prep under test, the primary of view w, to view w the
// only way a primary can (§9.6, W2): it receives q VIEW-CHANGEs and builds the NEW-VIEW.
func (fx *fixture) enterViewAsPrimary(w uint64) {
	fx.T.Helper()
	for r := uint64(0); r < 2*agreebtest.F+1; r++ {
		fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.ViewChange(w, r, agreebtest.Genesis()))))
	}
	if st := fx.Status(); st.View != w {
		fx.T.Fatalf("seed %d: view %d, want %d", fx.Seed, st.View, w)
	}
}

// TestProposalAccepted checks the happy path of §9.4 across several slots.
func TestProposalAccepted(t *testing.T) {
	fx := newFixture(t, 2, 41)
	for s := uint64(1); s <= agreebtest.L; s++ {
		b := fx.Batch(int(s%agreebtest.MaxBatch) + 1)
		outs := fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, s, b))))
		fx.ExpectOutputs(outs, []spec.Output{fx.expectedPrepare(0, s, spec.BatchDigest(&b))})
	}
	if st := fx.Status(); st.Last != agreebtest.L {
		t.Fatalf("Last = %d", st.Last)
	}
	// A proposal out of order raises seqHigh only to the highest.
	fx2 := newFixture(t, 2, 42)
	fx2.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx2.Proposal(0, 3, fx2.Batch(1)))))
	fx2.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx2.Proposal(0, 1, fx2.Batch(1)))))
	if st := fx2.Status(); st.Last != 3 {
		t.Fatalf("Last = %d, want 3", st.Last)
	}
}

// TestProposalRules covers P1–P11, each failing alone, in a backup (replica 2).
func TestProposalRules(t *testing.T) {
	type setup func(fx *fixture) spec.Proposal
	cases := []struct {
		name    string
		me      uint64
		prepare setup
		code    uint64
		sub     uint64
	}{
		{"P1 unknown sender", 2, func(fx *fixture) spec.Proposal {
			p := fx.Proposal(0, 1, fx.Batch(1))
			p.Header = fx.PrePrepare(0, 1, p.Header.Body.Digest, 0)
			p.Header.Body.Replica = agreebtest.N
			return p
		}, spec.CodeUnknownSender, 0},
		{"P2 stale view", 2, func(fx *fixture) spec.Proposal {
			fx.enterViewByNewView(1)
			return fx.Proposal(0, 1, fx.Batch(1))
		}, spec.CodeStale, 0},
		{"P2 wrong view", 2, func(fx *fixture) spec.Proposal { return fx.Proposal(1, 1, fx.Batch(1)) }, spec.CodeWrongView, 0},
		{"P3 not primary", 2, func(fx *fixture) spec.Proposal {
			b := fx.Batch(1)
			return spec.Proposal{Header: fx.PrePrepare(0, 1, spec.BatchDigest(&b), 3), Batch: b}
		}, spec.CodeNotPrimary, 0},
		{"P4 this prep is primary", 0, func(fx *fixture) spec.Proposal { return fx.Proposal(0, 1, fx.Batch(1)) }, spec.CodeNotPrimary, 0},
		{"P5 stale seq", 2, func(fx *fixture) spec.Proposal { return fx.Proposal(0, 0, fx.Batch(1)) }, spec.CodeStale, 0},
		{"P5 stale seq after checkpoint", 2, func(fx *fixture) spec.Proposal {
			fx.MakeStable(agreebtest.K)
			return fx.Proposal(0, agreebtest.K, fx.Batch(1))
		}, spec.CodeStale, 0},
		{"P5 out of window", 2, func(fx *fixture) spec.Proposal { return fx.Proposal(0, agreebtest.L+1, fx.Batch(1)) }, spec.CodeOutOfWindow, 0},
		{"P6 bad signature", 2, func(fx *fixture) spec.Proposal {
			p := fx.Proposal(0, 1, fx.Batch(1))
			p.Header.Sig[0] ^= 1
			return p
		}, spec.CodeBadSignature, 0},
		{"P6 signed for another domain", 2, func(fx *fixture) spec.Proposal {
			p := fx.Proposal(0, 1, fx.Batch(1))
			p.Header.Sig = fx.Prepare(0, 1, p.Header.Body.Digest, 0).Sig
			return p
		}, spec.CodeBadSignature, 0},
		{"P7 conflict", 2, func(fx *fixture) spec.Proposal {
			fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 1, fx.Batch(1)))))
			return fx.Proposal(0, 1, fx.Batch(2))
		}, spec.CodeConflict, 0},
		{"P8 duplicate", 2, func(fx *fixture) spec.Proposal {
			p := fx.Proposal(0, 1, fx.Batch(1))
			fx.MustAccept(agreebtest.Input(spec.KindProposal, &p))
			return p
		}, spec.CodeDuplicate, 0},
		{"P9 digest mismatch", 2, func(fx *fixture) spec.Proposal {
			p := fx.Proposal(0, 1, fx.Batch(1))
			p.Batch = fx.Batch(1)
			return p
		}, spec.CodeDigestMismatch, 0},
		{"P10 empty batch", 2, func(fx *fixture) spec.Proposal { return fx.Proposal(0, 1, spec.Batch{}) }, spec.CodeEmptyBatch, 0},
		{"P10 too many requests", 2, func(fx *fixture) spec.Proposal { return fx.Proposal(0, 1, fx.Batch(agreebtest.MaxBatch+1)) }, spec.CodeBatchLimit, 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c.me, int64(400+i))
			p := c.prepare(fx)
			fx.ExpectReject(agreebtest.Input(spec.KindProposal, &p), c.code, c.sub)
		})
	}
}

// TestProposalBadRequest covers P11 for each of R1–R5: bad-request with Sub naming
// the first failing request.
func TestProposalBadRequest(t *testing.T) {
	fx := newFixture(t, 2, 43)
	for _, c := range fx.badRequests() {
		t.Run(c.name, func(t *testing.T) {
			fx.T = t
			b := spec.Batch{Requests: []spec.Request{fx.Request(10, 1, 1), c.req, fx.badRequests()[0].req}}
			p := fx.Proposal(0, 1, b)
			fx.ExpectReject(agreebtest.Input(spec.KindProposal, &p), spec.CodeBadRequest, 2)
		})
	}
}
