package prepb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestViewChangeRules covers VC1–VC6 (§9.6), and VC4 for every line of §5.1.
func TestViewChangeRules(t *testing.T) {
	fx := newFixture(t, 2, 61)
	base := fx.BaseViewChangeBody()
	fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(base)))) // the base is valid
	for i, c := range fx.InvalidContents() {
		t.Run("VC4 "+c.Name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(600+i))
			b := fx.BaseViewChangeBody()
			c.Mut(&b)
			fx.ExpectReject(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(b))), spec.CodeBadCertificate, 0)
		})
	}
	type setup func(fx *fixture) spec.ViewChange
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"VC1 unknown sender", func(fx *fixture) spec.ViewChange {
			b := fx.BaseViewChangeBody()
			b.Replica = agreebtest.N
			return fx.SignedViewChange(b)
		}, spec.CodeUnknownSender},
		{"VC2 stale view", func(fx *fixture) spec.ViewChange {
			b := fx.BaseViewChangeBody()
			b.View = 0
			b.Prepared = nil
			return fx.SignedViewChange(b)
		}, spec.CodeStale},
		{"VC2 view not above after a view change", func(fx *fixture) spec.ViewChange {
			fx.enterViewByNewView(1)
			return fx.SignedViewChange(fx.BaseViewChangeBody())
		}, spec.CodeStale},
		{"VC3 bad signature", func(fx *fixture) spec.ViewChange {
			vc := fx.SignedViewChange(fx.BaseViewChangeBody())
			vc.Sig[0] ^= 1
			return vc
		}, spec.CodeBadSignature},
		{"VC3 signed by another conf", func(fx *fixture) spec.ViewChange {
			vc := fx.SignedViewChange(fx.BaseViewChangeBody())
			vc.Body.Replica = 1
			return vc
		}, spec.CodeBadSignature},
		{"VC5 lower view than stored", func(fx *fixture) spec.ViewChange {
			b := fx.BaseViewChangeBody()
			b.View = 3
			fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(b))))
			return fx.SignedViewChange(fx.BaseViewChangeBody())
		}, spec.CodeStale},
		{"VC5 same view other bytes", func(fx *fixture) spec.ViewChange {
			fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(fx.BaseViewChangeBody()))))
			b := fx.BaseViewChangeBody()
			b.Prepared = b.Prepared[:1]
			return fx.SignedViewChange(b)
		}, spec.CodeConflict},
		{"VC6 duplicate", func(fx *fixture) spec.ViewChange {
			vc := fx.SignedViewChange(fx.BaseViewChangeBody())
			fx.MustAccept(agreebtest.Input(spec.KindViewChange, &vc))
			return vc
		}, spec.CodeDuplicate},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(650+i))
			vc := c.setup(fx)
			fx.ExpectReject(agreebtest.Input(spec.KindViewChange, &vc), c.code, 0)
		})
	}
}

// TestViewChangeReplaced checks that a VIEW-CHANGE for a higher view replaces the
// sender's stored one (§9.6 VC5 first alternative).
func TestViewChangeReplaced(t *testing.T) {
	fx := newFixture(t, 2, 62)
	fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(fx.BaseViewChangeBody()))))
	b := fx.BaseViewChangeBody()
	b.View = 3
	fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.SignedViewChange(b))))
	if d := fx.P.DebugState(); !strings.Contains(d, "view-change from=0 view=3 ") || strings.Contains(d, "view=1 enc") {
		t.Fatalf("seed %d: stored view changes:\n%s", fx.Seed, d)
	}
}

// TestBuildNewView checks §9.6 at the new primary: nothing until q VIEW-CHANGEs for
// the view, then the NEW-VIEW byte for byte (O of §8.5), the adopted checkpoint,
// seqHigh = max(h, maxS), and proposals continuing after maxS.
func TestBuildNewView(t *testing.T) {
	fx := newFixture(t, 1, 63)
	vcs, o := fx.NewViewScenario()
	other := fx.ViewChange(6, 1, agreebtest.Genesis()) // a later view is kept
	fx.MustAccept(agreebtest.Input(spec.KindViewChange, &other))
	for _, vc := range vcs[:2] {
		if outs := fx.MustAccept(agreebtest.Input(spec.KindViewChange, &vc)); len(outs) != 0 {
			t.Fatalf("seed %d: output before q view changes: %s", fx.Seed, agreebtest.Describe(outs))
		}
	}
	outs := fx.MustAccept(agreebtest.Input(spec.KindViewChange, &vcs[2]))
	nv := fx.NewView(5, vcs, o)
	fx.ExpectOutputs(outs, []spec.Output{agreebtest.Output(spec.KindNewView, spec.ToPrep|spec.ToConf|spec.ToExec, &nv)})
	st := fx.Status()
	if st.View != 5 || st.Stable != 2 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v after NEW-VIEW", fx.Seed, st)
	}
	if d := fx.P.DebugState(); !strings.Contains(d, "view-change from=1 view=6") || strings.Contains(d, "view=5 enc") {
		t.Fatalf("seed %d: view changes after NEW-VIEW:\n%s", fx.Seed, d)
	}
	b := fx.Batch(1)
	fx.ExpectReject(agreebtest.Input(spec.KindClientBatch, &b), spec.CodeWindowFull, 0) // 7 > h + L
	fx.MakeStable(4)
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b)), []spec.Output{fx.expectedProposal(5, 7, b)})
}

// TestNoNewViewAtBackup checks that a prep that is not the view's primary only
// stores VIEW-CHANGEs.
func TestNoNewViewAtBackup(t *testing.T) {
	fx := newFixture(t, 2, 64)
	vcs, _ := fx.NewViewScenario()
	for _, vc := range vcs {
		if outs := fx.MustAccept(agreebtest.Input(spec.KindViewChange, &vc)); len(outs) != 0 {
			t.Fatalf("seed %d: backup produced %s", fx.Seed, agreebtest.Describe(outs))
		}
	}
	if st := fx.Status(); st.View != 0 {
		t.Fatalf("backup changed view")
	}
}
