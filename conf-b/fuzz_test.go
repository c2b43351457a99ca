package confb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// fuzzSeedInputs returns valid inputs of every kind conf accepts, as fuzz seeds.
func fuzzSeedInputs(fx *fixture) []spec.Input {
	vcs, o := fx.NewViewScenario()
	return []spec.Input{
		agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 1, agreebtest.Digest(1), 0))),
		agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 1, agreebtest.Digest(1), 3))),
		agreebtest.Input(spec.KindCheckpoint, agreebtest.Ptr(fx.Checkpoint(2, agreebtest.Digest(2), 1))),
		agreebtest.Input(spec.KindSuspect, &spec.Suspect{View: 0}),
		agreebtest.Input(spec.KindNewView, agreebtest.Ptr(fx.NewView(5, vcs, o))),
		agreebtest.Input(spec.KindEpochChange, agreebtest.Ptr(fx.EpochChange(agreebtest.Ptr(fx.NextConfig(3, agreebtest.Digest(0x33)))))),
		agreebtest.Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.Cfg)}),
	}
}

// FuzzStep feeds arbitrary inputs to a configured conf-b (replicas 1 and 2): it must
// never panic, always end with exactly one status, and a step in which every input
// was rejected must leave the state unchanged. The raw bytes are also tried as a
// whole StepInput.
func FuzzStep(f *testing.F) {
	base := newFixture(f, 2, 81)
	seeds := fuzzSeedInputs(base)
	for _, in := range seeds {
		f.Add(in.Kind, in.Body, spec.Encode(&spec.StepInput{Inputs: []spec.Input{in}}))
	}
	f.Add(uint64(99), []byte{0x80}, spec.Encode(&spec.StepInput{Inputs: seeds[:3]}))
	f.Fuzz(func(t *testing.T, kind uint64, body, raw []byte) {
		agreebtest.FuzzOne(t, &testSetup, []uint64{1, 2}, kind, body, raw)
	})
}

// TestFuzzSeedsAccepted checks that every fuzz seed but configure is accepted by a
// fresh conf and changes its state.
func TestFuzzSeedsAccepted(t *testing.T) {
	fx := newFixture(t, 2, 81)
	seeds := fuzzSeedInputs(fx)
	for i, in := range seeds[:len(seeds)-1] {
		fresh := newFixture(t, 2, 81)
		fresh.MustAccept(in)
		if fresh.P.DebugState() == newFixture(t, 2, 81).P.DebugState() {
			t.Fatalf("seed input %d (%s) changed nothing", i, spec.KindName(in.Kind))
		}
	}
}
