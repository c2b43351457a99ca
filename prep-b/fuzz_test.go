package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// fuzzSeedInputs returns valid inputs of every kind prep accepts, as fuzz seeds.
func fuzzSeedInputs(fx *fixture) []spec.Input {
	vcs, o := fx.newViewScenario()
	b := fx.batch(2)
	return []spec.Input{
		input(spec.KindClientBatch, &b),
		input(spec.KindProposal, ptr(fx.proposal(0, 1, fx.batch(1)))),
		input(spec.KindCheckpoint, ptr(fx.checkpoint(2, digest(2), 1))),
		input(spec.KindViewChange, &vcs[1]),
		input(spec.KindNewView, ptr(fx.newView(5, vcs, o))),
		input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.cfg)}),
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
		for _, me := range []uint64{0, 1} {
			fx := newFixture(t, me, 81)
			for _, in := range [][]byte{spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: kind, Body: body}}}), raw} {
				before := fx.p.DebugState()
				outs := fx.splitStatus(fx.p.Step(in))
				if allRejected(t, in, outs) && fx.p.DebugState() != before {
					t.Fatalf("replica %d: all-rejected step changed the state:\n%s\n%s", me, before, fx.p.DebugState())
				}
			}
		}
	})
}

// allRejected reports whether every input of the step in was rejected and nothing
// but rejections was produced (a malformed StepInput counts as one rejected input).
func allRejected(t *testing.T, in []byte, outs []spec.Output) bool {
	inputs := 1
	var si spec.StepInput
	if spec.Decode(in, &si, spec.MaxMessageBytes) == nil && len(si.Inputs) <= spec.MaxStepInputs {
		inputs = len(si.Inputs)
	}
	seen := map[uint64]bool{}
	for _, o := range outs {
		if o.Kind != spec.KindReject {
			return false
		}
		var r spec.Rejection
		if err := spec.Decode(o.Body, &r, 1024); err != nil {
			t.Fatalf("rejection does not decode: %v", err)
		}
		seen[r.Index] = true
	}
	return len(seen) == inputs
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
		fresh.mustAccept(in)
		if fresh.p.DebugState() == newFixture(t, me, 81).p.DebugState() {
			t.Fatalf("seed input %d (%s) changed nothing", i, spec.KindName(in.Kind))
		}
	}
}
