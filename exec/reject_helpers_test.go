package exec_test

import (
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// codesSeen records every reject code the tests observed through expectReject, so
// that TestEveryCodeCovered can check §11's codes are all exercised.
var codesSeen = map[uint64]bool{}

// expectReject steps x with the single input and requires exactly one rejection with
// code (Index 0, the input's kind, Sub 0), followed by the status, and an unchanged
// DebugState.
func expectReject(t *testing.T, x *exec.Exec, input spec.Input, code uint64) {
	t.Helper()
	before := x.DebugState()
	outs := stepRaw(t, x, spec.Encode(&spec.StepInput{Inputs: []spec.Input{input}}))
	r := rejections(outs)
	if len(outs) != 2 || len(r) != 1 {
		t.Fatalf("want one %s rejection, got:%s", spec.CodeName(code), describe(outs))
	}
	if r[0] != (spec.Rejection{Index: 0, Kind: input.Kind, Code: code}) {
		t.Fatalf("got rejection %s (%+v), want %s", spec.CodeName(r[0].Code), r[0], spec.CodeName(code))
	}
	if after := x.DebugState(); after != before {
		t.Fatalf("rejected input changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	codesSeen[code] = true
}

// expectAccept steps x with the inputs and requires no rejection.
func expectAccept(t *testing.T, x *exec.Exec, inputs ...spec.Input) []spec.Output {
	t.Helper()
	outs := stepRaw(t, x, spec.Encode(&spec.StepInput{Inputs: inputs}))
	if r := rejections(outs); len(r) != 0 {
		t.Fatalf("unexpected rejection:%s", describe(outs))
	}
	return outs
}

// rawInput is an input with arbitrary body bytes.
func rawInput(kind uint64, body []byte) spec.Input { return spec.Input{Kind: kind, Body: body} }
