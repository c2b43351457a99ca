package agreebtest

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// Input encodes body as an Input of the given kind.
func Input(kind uint64, body any) spec.Input {
	return spec.Input{Kind: kind, Body: spec.Encode(body)}
}

// Step runs one Step and returns its outputs without the final Status, checking
// that exactly one Status ends the output.
func (w *World) Step(ins ...spec.Input) []spec.Output {
	w.T.Helper()
	raw := w.P.Step(spec.Encode(&spec.StepInput{Inputs: ins}))
	return w.SplitStatus(raw)
}

// SplitStatus decodes a StepOutput and strips its final Status, failing unless
// exactly one Status ends it.
func (w *World) SplitStatus(raw []byte) []spec.Output {
	w.T.Helper()
	var so spec.StepOutput
	if err := spec.Decode(raw, &so, spec.MaxMessageBytes); err != nil {
		w.T.Fatalf("seed %d: StepOutput does not decode: %v", w.Seed, err)
	}
	n := len(so.Outputs)
	if n == 0 || so.Outputs[n-1].Kind != spec.KindStatus {
		w.T.Fatalf("seed %d: StepOutput does not end with a status", w.Seed)
	}
	for _, o := range so.Outputs[:n-1] {
		if o.Kind == spec.KindStatus {
			w.T.Fatalf("seed %d: more than one status", w.Seed)
		}
	}
	return so.Outputs[:n-1]
}

// Status returns the Status of an empty Step.
func (w *World) Status() spec.Status {
	w.T.Helper()
	var so spec.StepOutput
	if err := spec.Decode(w.P.Step(spec.Encode(&spec.StepInput{})), &so, spec.MaxMessageBytes); err != nil {
		w.T.Fatal(err)
	}
	var st spec.Status
	if err := spec.Decode(so.Outputs[len(so.Outputs)-1].Body, &st, 1024); err != nil {
		w.T.Fatal(err)
	}
	return st
}

// MustAccept runs one input and fails if it was rejected; it returns the outputs.
func (w *World) MustAccept(in spec.Input) []spec.Output {
	w.T.Helper()
	outs := w.Step(in)
	for _, o := range outs {
		if o.Kind == spec.KindReject {
			var r spec.Rejection
			_ = spec.Decode(o.Body, &r, 1024)
			w.T.Fatalf("seed %d: %s rejected: %s", w.Seed, spec.KindName(in.Kind), spec.CodeName(r.Code))
		}
	}
	return outs
}

// ExpectReject runs one input and checks that its only output is a Rejection with
// the given code and Sub, and that the state dump is unchanged.
func (w *World) ExpectReject(in spec.Input, code, sub uint64) {
	w.T.Helper()
	before := w.P.DebugState()
	outs := w.Step(in)
	want := spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 0, Kind: in.Kind, Code: code, Sub: sub})}
	if len(outs) != 1 || !bytes.Equal(spec.Encode(&outs[0]), spec.Encode(&want)) {
		w.T.Fatalf("seed %d: got %q, want rejection %s sub %d", w.Seed, Describe(outs), spec.CodeName(code), sub)
	}
	if after := w.P.DebugState(); after != before {
		w.T.Fatalf("seed %d: rejected input changed the state:\nbefore:\n%s\nafter:\n%s", w.Seed, before, after)
	}
}

// Describe renders outputs for failure messages.
func Describe(outs []spec.Output) string {
	return spec.DescribeOutput(&spec.StepOutput{Outputs: outs})
}

// ExpectOutputs checks outputs against want byte for byte.
func (w *World) ExpectOutputs(got, want []spec.Output) {
	w.T.Helper()
	g := spec.Encode(&spec.StepOutput{Outputs: got})
	x := spec.Encode(&spec.StepOutput{Outputs: want})
	if !bytes.Equal(g, x) {
		w.T.Fatalf("seed %d: outputs differ\ngot:\n%s\nwant:\n%s", w.Seed, Describe(got), Describe(want))
	}
}

// All returns the replica ids 0..n−1.
func All() []uint64 { return []uint64{0, 1, 2, 3} }

// Output builds an expected protocol output to roles at every replica.
func Output(kind, roles uint64, body any) spec.Output {
	return spec.Output{Kind: kind, To: spec.Destination{Roles: roles, Replicas: All()}, Body: spec.Encode(body)}
}

// Rejection builds an expected Rejection output.
func Rejection(idx, kind, code, sub uint64) spec.Output {
	return spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: idx, Kind: kind, Code: code, Sub: sub})}
}

// AllRejected reports whether every input of the step in was rejected and nothing
// but rejections was produced (a malformed StepInput counts as one rejected input).
func AllRejected(t testing.TB, in []byte, outs []spec.Output) bool {
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
