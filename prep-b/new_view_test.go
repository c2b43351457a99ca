package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestNewViewAccepted checks §9.7 at a backup: enter the view, adopt best's
// checkpoint, and PREPARE every O entry above h (null entries included), in order.
func TestNewViewAccepted(t *testing.T) {
	fx := newFixture(t, 2, 71)
	b := fx.Batch(1)
	fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 1, b)))) // dropped by the view change
	vcs, o := fx.NewViewScenario()
	nv := fx.NewView(5, vcs, o)
	outs := fx.MustAccept(agreebtest.Input(spec.KindNewView, &nv))
	var want []spec.Output
	for _, e := range o {
		want = append(want, fx.expectedPrepare(5, e.Seq, e.Digest))
	}
	fx.ExpectOutputs(outs, want)
	if st := fx.Status(); st.View != 5 || st.Stable != 2 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
	// The O entries are accepted in view 5: a conflicting proposal is rejected.
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(5, 4, fx.Batch(1)))), spec.CodeConflict, 0)
	// A replayed NEW-VIEW is stale.
	fx.ExpectReject(agreebtest.Input(spec.KindNewView, &nv), spec.CodeStale, 0)
}

// TestNewViewAboveCheckpoint checks that O entries at or below a higher local h are
// not prepared.
func TestNewViewAboveCheckpoint(t *testing.T) {
	fx := newFixture(t, 2, 72)
	fx.MakeStable(2)
	fx.MakeStable(4)
	vcs, o := fx.NewViewScenario()
	outs := fx.MustAccept(agreebtest.Input(spec.KindNewView, agreebtest.Ptr(fx.NewView(5, vcs, o))))
	fx.ExpectOutputs(outs, []spec.Output{fx.expectedPrepare(5, 5, o[2].Digest), fx.expectedPrepare(5, 6, o[3].Digest)})
	if st := fx.Status(); st.Stable != 4 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
}

// TestNewViewRules covers W1–W6 with every line NV1–NV7 (§8.6, §9.7).
func TestNewViewRules(t *testing.T) {
	// withO builds the scenario's NEW-VIEW with its O entries changed by f (W6).
	withO := func(f func(o []spec.Slot) []spec.Slot) func(*agreebtest.World, []spec.ViewChange, []spec.Slot) spec.NewView {
		return func(fx *agreebtest.World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.NewView(5, vcs, f(o))
		}
	}
	w6 := []agreebtest.NewViewCase{
		{Name: "W6 wrong digest", Code: spec.CodeBadNewView, Mut: withO(func(o []spec.Slot) []spec.Slot {
			o[0].Digest = agreebtest.Digest(0x20) // not the smallest of the highest view
			return o
		})},
		{Name: "W6 missing null entry", Code: spec.CodeBadNewView, Mut: withO(func(o []spec.Slot) []spec.Slot { return append(o[:1:1], o[2:]...) })},
		{Name: "W6 missing last entry", Code: spec.CodeBadNewView, Mut: withO(func(o []spec.Slot) []spec.Slot { return o[:3] })},
	}
	cases := append(agreebtest.NewViewSenderCases("W"), agreebtest.NewViewCheckCases()...)
	agreebtest.RunNewViewCases(t, &testSetup, append(cases, w6...))
}
