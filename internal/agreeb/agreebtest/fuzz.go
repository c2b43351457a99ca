package agreebtest

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// FuzzOne is the body of a FuzzStep target: for each replica in mes it builds a
// configured compartment (seed 81) and feeds it the single input {kind, body} and
// then raw as a whole StepInput. Each step must not panic, must end with exactly
// one status, and must leave the state unchanged if every input was rejected.
func FuzzOne(t *testing.T, s *Setup, mes []uint64, kind uint64, body, raw []byte) {
	for _, me := range mes {
		fx := NewConfigured(t, s, me, 81)
		for _, in := range [][]byte{spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: kind, Body: body}}}), raw} {
			before := fx.P.DebugState()
			outs := fx.SplitStatus(fx.P.Step(in))
			if AllRejected(t, in, outs) && fx.P.DebugState() != before {
				t.Fatalf("replica %d: all-rejected step changed the state:\n%s\n%s", me, before, fx.P.DebugState())
			}
		}
	}
}
