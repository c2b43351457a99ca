package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// fuzzSeedInputs returns valid inputs of every kind prep accepts, as fuzz seeds.
func fuzzSeedInputs(fx *fixture) []spec.Input {
	vcs, o := fx.NewViewScenario()
	b := fx.Batch(2)
	return []spec.Input{
		agreebtest.Input(spec.KindClientBatch, &b),
		agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 1, fx.Batch(1)))),
		agreebtest.Input(spec.KindCheckpoint, agreebtest.Ptr(fx.Checkpoint(2, agreebtest.Digest(2), 1))),
		agreebtest.Input(spec.KindViewChange, &vcs[1]),
		agreebtest.Input(spec.KindNewView, agreebtest.Ptr(fx.NewView(5, vcs, o))),
		agreebtest.Input(spec.KindEpochChange, agreebtest.Ptr(fx.EpochChange(agreebtest.Ptr(fx.NextConfig(3, agreebtest.Digest(0x33)))))),
		agreebtest.Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.Cfg)}),
	}
}

// FuzzStep feeds arbitrary inputs to a configured prep-b, both as the primary of
// view 0 (replica 0) and as a backup (replica 1, primary of views 1 and 5): it must
// never panic, always end with exactly one status, and a step in which every input
// was rejected must leave the state unchanged. The raw bytes are also tried as a
// whole StepInput.
func FuzzStep(f *testing.F) {
	base := newFixture(f, 1, 81)
	for _, in := range fuzzSeedInputs(base) {
		f.Add(in.Kind, in.Body, spec.Encode(&spec.StepInput{Inputs: []spec.Input{in}}))
	}
	f.Add(uint64(99), []byte{0x80}, []byte{0x81, 0x82, 0x00, 0x40})
	f.Fuzz(func(t *testing.T, kind uint64, body, raw []byte) {
		agreebtest.FuzzOne(t, &testSetup, []uint64{0, 1}, kind, body, raw)
	})
}

// TestFuzzSeedsAccepted checks that every fuzz seed but configure is accepted by a
// fresh prep (so the fuzz target starts from inputs past the signature checks).
func TestFuzzSeedsAccepted(t *testing.T) {
	fx := newFixture(t, 1, 81)
	seeds := fuzzSeedInputs(fx)
	for i, in := range seeds[:len(seeds)-1] {
		me := uint64(1)
		if in.Kind == spec.KindNewView {
			me = 2 // replica 1 leads view 5, so it never accepts that NEW-VIEW (W2)
		}
		fresh := newFixture(t, me, 81)
		if in.Kind == spec.KindClientBatch {
			fresh.enterViewAsPrimary(1) // replica 1 is primary of view 1
		}
		fresh.MustAccept(in)
		if fresh.P.DebugState() == newFixture(t, me, 81).P.DebugState() {
			t.Fatalf("seed input %d (%s) changed nothing", i, spec.KindName(in.Kind))
		}
	}
}
