package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// expectedPrepare builds the PREPARE output the prep under test must emit.
func (fx *fixture) expectedPrepare(v, s uint64, d spec.Digest) spec.Output {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: fx.me}
	return output(spec.KindPrepare, spec.ToConf, &spec.Prepare{Body: body, Sig: fx.sign(fx.preps[fx.me], spec.DomainPrepare, &body)})
}

// enterViewByNewView moves the prep under test to view w (w's primary ≠ me) with a
// NEW-VIEW built from genesis VIEW-CHANGEs of confs 0..q−1 and an empty O.
func (fx *fixture) enterViewByNewView(w uint64) {
	fx.t.Helper()
	var vcs []spec.ViewChange
	for r := uint64(0); r < 2*testF+1; r++ {
		vcs = append(vcs, fx.viewChange(w, r, genesis()))
	}
	nv := fx.newView(w, vcs, nil)
	fx.mustAccept(input(spec.KindNewView, &nv))
	if st := fx.status(); st.View != w {
		fx.t.Fatalf("seed %d: view %d, want %d", fx.seed, st.View, w)
	}
}

// enterViewAsPrimary moves the prep under test, the primary of view w, to view w the
// only way a primary can (§9.6, W2): it receives q VIEW-CHANGEs and builds the NEW-VIEW.
func (fx *fixture) enterViewAsPrimary(w uint64) {
	fx.t.Helper()
	for r := uint64(0); r < 2*testF+1; r++ {
		fx.mustAccept(input(spec.KindViewChange, ptr(fx.viewChange(w, r, genesis()))))
	}
	if st := fx.status(); st.View != w {
		fx.t.Fatalf("seed %d: view %d, want %d", fx.seed, st.View, w)
	}
}

// TestProposalAccepted checks the happy path of §9.4 across several slots.
func TestProposalAccepted(t *testing.T) {
	fx := newFixture(t, 2, 41)
	for s := uint64(1); s <= testL; s++ {
		b := fx.batch(int(s%testMaxBatch) + 1)
		outs := fx.mustAccept(input(spec.KindProposal, ptr(fx.proposal(0, s, b))))
		fx.expectOutputs(outs, []spec.Output{fx.expectedPrepare(0, s, spec.BatchDigest(&b))})
	}
	if st := fx.status(); st.Last != testL {
		t.Fatalf("Last = %d", st.Last)
	}
	// A proposal out of order raises seqHigh only to the highest.
	fx2 := newFixture(t, 2, 42)
	fx2.mustAccept(input(spec.KindProposal, ptr(fx2.proposal(0, 3, fx2.batch(1)))))
	fx2.mustAccept(input(spec.KindProposal, ptr(fx2.proposal(0, 1, fx2.batch(1)))))
	if st := fx2.status(); st.Last != 3 {
		t.Fatalf("Last = %d, want 3", st.Last)
	}
}

func ptr[T any](v T) *T { return &v }

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
			p := fx.proposal(0, 1, fx.batch(1))
			p.Header = fx.prePrepare(0, 1, p.Header.Body.Digest, 0)
			p.Header.Body.Replica = testN
			return p
		}, spec.CodeUnknownSender, 0},
		{"P2 stale view", 2, func(fx *fixture) spec.Proposal {
			fx.enterViewByNewView(1)
			return fx.proposal(0, 1, fx.batch(1))
		}, spec.CodeStale, 0},
		{"P2 wrong view", 2, func(fx *fixture) spec.Proposal { return fx.proposal(1, 1, fx.batch(1)) }, spec.CodeWrongView, 0},
		{"P3 not primary", 2, func(fx *fixture) spec.Proposal {
			b := fx.batch(1)
			return spec.Proposal{Header: fx.prePrepare(0, 1, spec.BatchDigest(&b), 3), Batch: b}
		}, spec.CodeNotPrimary, 0},
		{"P4 this prep is primary", 0, func(fx *fixture) spec.Proposal { return fx.proposal(0, 1, fx.batch(1)) }, spec.CodeNotPrimary, 0},
		{"P5 stale seq", 2, func(fx *fixture) spec.Proposal { return fx.proposal(0, 0, fx.batch(1)) }, spec.CodeStale, 0},
		{"P5 stale seq after checkpoint", 2, func(fx *fixture) spec.Proposal {
			fx.makeStable(testK)
			return fx.proposal(0, testK, fx.batch(1))
		}, spec.CodeStale, 0},
		{"P5 out of window", 2, func(fx *fixture) spec.Proposal { return fx.proposal(0, testL+1, fx.batch(1)) }, spec.CodeOutOfWindow, 0},
		{"P6 bad signature", 2, func(fx *fixture) spec.Proposal {
			p := fx.proposal(0, 1, fx.batch(1))
			p.Header.Sig[0] ^= 1
			return p
		}, spec.CodeBadSignature, 0},
		{"P6 signed for another domain", 2, func(fx *fixture) spec.Proposal {
			p := fx.proposal(0, 1, fx.batch(1))
			p.Header.Sig = fx.prepare(0, 1, p.Header.Body.Digest, 0).Sig
			return p
		}, spec.CodeBadSignature, 0},
		{"P7 conflict", 2, func(fx *fixture) spec.Proposal {
			fx.mustAccept(input(spec.KindProposal, ptr(fx.proposal(0, 1, fx.batch(1)))))
			return fx.proposal(0, 1, fx.batch(2))
		}, spec.CodeConflict, 0},
		{"P8 duplicate", 2, func(fx *fixture) spec.Proposal {
			p := fx.proposal(0, 1, fx.batch(1))
			fx.mustAccept(input(spec.KindProposal, &p))
			return p
		}, spec.CodeDuplicate, 0},
		{"P9 digest mismatch", 2, func(fx *fixture) spec.Proposal {
			p := fx.proposal(0, 1, fx.batch(1))
			p.Batch = fx.batch(1)
			return p
		}, spec.CodeDigestMismatch, 0},
		{"P10 empty batch", 2, func(fx *fixture) spec.Proposal { return fx.proposal(0, 1, spec.Batch{}) }, spec.CodeEmptyBatch, 0},
		{"P10 too many requests", 2, func(fx *fixture) spec.Proposal { return fx.proposal(0, 1, fx.batch(testMaxBatch+1)) }, spec.CodeBatchLimit, 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c.me, int64(400+i))
			p := c.prepare(fx)
			fx.expectReject(input(spec.KindProposal, &p), c.code, c.sub)
		})
	}
}

// TestProposalBadRequest covers P11 for each of R1–R5: bad-request with Sub naming
// the first failing request.
func TestProposalBadRequest(t *testing.T) {
	fx := newFixture(t, 2, 43)
	for _, c := range fx.badRequests() {
		t.Run(c.name, func(t *testing.T) {
			fx.t = t
			b := spec.Batch{Requests: []spec.Request{fx.request(10, 1, 1), c.req, fx.badRequests()[0].req}}
			p := fx.proposal(0, 1, b)
			fx.expectReject(input(spec.KindProposal, &p), spec.CodeBadRequest, 2)
		})
	}
}
