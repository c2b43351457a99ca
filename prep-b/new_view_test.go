package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestNewViewAccepted checks §9.7 at a backup: enter the view, adopt best's
// checkpoint, and PREPARE every O entry above h (null entries included), in order.
func TestNewViewAccepted(t *testing.T) {
	fx := newFixture(t, 2, 71)
	b := fx.batch(1)
	fx.mustAccept(input(spec.KindProposal, ptr(fx.proposal(0, 1, b)))) // dropped by the view change
	vcs, o := fx.newViewScenario()
	nv := fx.newView(5, vcs, o)
	outs := fx.mustAccept(input(spec.KindNewView, &nv))
	var want []spec.Output
	for _, e := range o {
		want = append(want, fx.expectedPrepare(5, e.Seq, e.Digest))
	}
	fx.expectOutputs(outs, want)
	if st := fx.status(); st.View != 5 || st.Stable != 2 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
	// The O entries are accepted in view 5: a conflicting proposal is rejected.
	fx.expectReject(input(spec.KindProposal, ptr(fx.proposal(5, 4, fx.batch(1)))), spec.CodeConflict, 0)
	// A replayed NEW-VIEW is stale.
	fx.expectReject(input(spec.KindNewView, &nv), spec.CodeStale, 0)
}

// TestNewViewAboveCheckpoint checks that O entries at or below a higher local h are
// not prepared.
func TestNewViewAboveCheckpoint(t *testing.T) {
	fx := newFixture(t, 2, 72)
	fx.makeStable(2)
	fx.makeStable(4)
	vcs, o := fx.newViewScenario()
	outs := fx.mustAccept(input(spec.KindNewView, ptr(fx.newView(5, vcs, o))))
	fx.expectOutputs(outs, []spec.Output{fx.expectedPrepare(5, 5, o[2].Digest), fx.expectedPrepare(5, 6, o[3].Digest)})
	if st := fx.status(); st.Stable != 4 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
}

// TestNewViewRules covers W1–W6 with every line NV1–NV7 (§8.6, §9.7).
func TestNewViewRules(t *testing.T) {
	type mut func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView
	resign := func(fx *fixture, nv spec.NewView) spec.NewView {
		nv.Sig = fx.sign(fx.preps[nv.Body.Replica%testN], spec.DomainNewView, &nv.Body)
		return nv
	}
	cases := []struct {
		name string
		mut  mut
		code uint64
	}{
		{"W1 unknown sender", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.Replica = 5
			return resign(fx, nv)
		}, spec.CodeUnknownSender},
		{"W2 not primary", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.Replica = 3
			return resign(fx, nv)
		}, spec.CodeNotPrimary},
		{"W3 stale", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(0, []spec.ViewChange{fx.viewChange(0, 0, genesis()), fx.viewChange(0, 1, genesis()), fx.viewChange(0, 3, genesis())}, nil)
		}, spec.CodeStale},
		{"NV3 bad signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Sig[9] ^= 1
			return nv
		}, spec.CodeBadSignature},
		{"NV4 too few view changes", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, vcs[1:], o)
		}, spec.CodeBadCertificate},
		{"NV4 senders not increasing", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[1], vcs[0], vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV4 view change for another view", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.viewChange(4, 3, genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V1 sender out of range", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.viewChange(5, testN, genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V2 view change signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			vcs[2].Sig[3] ^= 1
			return fx.newView(5, vcs, o)
		}, spec.CodeBadCertificate},
		{"NV5 V3 stable certificate", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[1].Body
			b.Stable.Proof = b.Stable.Proof[:2]
			return fx.newView(5, []spec.ViewChange{vcs[0], fx.signedViewChange(b), vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V6 prepared certificate", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[2].Body
			b.Prepared = []spec.PreparedCert{fx.preparedCert(2, 3, digest(0x10))}
			b.Prepared[0].Prepares[0].Sig[0] ^= 1
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.signedViewChange(b)}, o)
		}, spec.CodeBadCertificate},
		{"NV6 too many entries", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append(o, spec.Slot{View: 5, Seq: 7, Replica: 1})
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry for another view", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1].View = 4
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry from another replica", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[0].Replica = 2
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seqs not increasing", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1], o[2] = o[2], o[1]
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq at minS", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append([]spec.Slot{{View: 5, Seq: 2, Replica: 1}}, o[:3]...)
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq above minS+L", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[3].Seq = 2 + testL + 1
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV7 entry signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.PrePrepares[2].Sig[0] ^= 1
			return resign(fx, nv)
		}, spec.CodeBadNewView},
		{"W6 wrong digest", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[0].Digest = digest(0x20) // not the smallest of the highest view
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"W6 missing null entry", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, vcs, append(o[:1:1], o[2:]...))
		}, spec.CodeBadNewView},
		{"W6 missing last entry", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, vcs, o[:3])
		}, spec.CodeBadNewView},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(700+i))
			vcs, o := fx.newViewScenario()
			nv := c.mut(fx, vcs, o)
			fx.expectReject(input(spec.KindNewView, &nv), c.code, 0)
		})
	}
}
