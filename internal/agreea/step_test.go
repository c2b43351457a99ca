package agreea

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestStep: every input goes through dispatch in order with its index; a rejected one
// gets its Rejection (Index, Kind, Code, Sub) where dispatch returns; outputs that
// dispatch appends keep their place; the Status comes last; the Outbox ends empty.
func TestStep(t *testing.T) {
	var out Outbox
	var seen []uint64
	dispatch := func(idx uint64, in *spec.Input) Verdict {
		seen = append(seen, idx)
		switch in.Kind {
		case spec.KindPrepare:
			out.Broadcast(spec.KindCommit, spec.ToExec, 3, []byte{0x40})
		case spec.KindSuspect:
			return Verdict{Code: spec.CodeStale, Sub: idx}
		}
		return Accept
	}
	st := &spec.Status{Role: spec.RoleConf, Replica: 2, View: 7}
	ins := []spec.Input{{Kind: spec.KindSuspect}, {Kind: spec.KindPrepare}, {Kind: spec.KindSuspect}}
	got, stat, err := fixture.DecodeOutput(Step(fixture.StepBytes(ins...), &out, dispatch, func() *spec.Status { return st }))
	if err != nil {
		t.Fatal(err)
	}
	want := []spec.Output{
		{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 0, Kind: spec.KindSuspect, Code: spec.CodeStale})},
		{Kind: spec.KindCommit, To: spec.Destination{Roles: spec.ToExec, Replicas: []uint64{0, 1, 2}}, Body: []byte{0x40}},
		{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 2, Kind: spec.KindSuspect, Code: spec.CodeStale, Sub: 2})},
	} // then the status, which DecodeOutput checks and returns apart
	if !bytes.Equal(spec.Encode(got), spec.Encode(&spec.StepOutput{Outputs: want})) || stat.View != 7 {
		t.Fatalf("outputs:\n%s\nwant:\n%s", spec.DescribeOutput(got), spec.DescribeOutput(&spec.StepOutput{Outputs: want}))
	}
	if fmt.Sprint(seen) != "[0 1 2]" || len(out.outs) != 0 {
		t.Fatalf("dispatched %v, %d outputs left in the outbox", seen, len(out.outs))
	}
}

// TestStepMalformed: a StepInput that fails §2.3 or has more than 4096 inputs gives
// one malformed Rejection (Index 0, Kind 0) and the Status, and dispatches nothing.
func TestStepMalformed(t *testing.T) {
	tooMany := make([]spec.Input, spec.MaxStepInputs+1)
	good := fixture.StepBytes(spec.Input{Kind: spec.KindPrepare})
	for name, in := range map[string][]byte{
		"empty": nil, "trailing byte": append(bytes.Clone(good), 0), "not an array": {0x01},
		"4097 inputs": fixture.StepBytes(tooMany...),
	} {
		out := Outbox{outs: []spec.Output{{Kind: spec.KindCommit}}} // left over: Step starts afresh
		dispatch := func(uint64, *spec.Input) Verdict { t.Fatalf("%s: dispatched", name); return Accept }
		got, _, err := fixture.DecodeOutput(Step(in, &out, dispatch, func() *spec.Status { return &spec.Status{} }))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rs := fixture.Rejections(got.Outputs); len(got.Outputs) != 1 || len(rs) != 1 || rs[0] != (spec.Rejection{Code: spec.CodeMalformed}) {
			t.Errorf("%s: outputs %s", name, spec.DescribeOutput(got))
		}
	}
}

// TestPreamble: an input failing exactly one of A1–A4 (SPEC.md §8.1) gets that
// line's verdict; a passing one comes back decoded.
func TestPreamble(t *testing.T) {
	accepts := func(k uint64) bool { return k == spec.KindConfigure || k == spec.KindSuspect }
	suspect := fixture.In(spec.KindSuspect, &spec.Suspect{View: 3})
	tests := []struct {
		name       string
		in         spec.Input
		configured bool
		code       uint64
	}{
		{"A1 kind of another role", fixture.In(spec.KindPrepare, &spec.Prepare{}), true, spec.CodeUnknownKind},
		{"A1 unknown kind", spec.Input{Kind: 99}, false, spec.CodeUnknownKind},
		{"A2 not configured", suspect, false, spec.CodeNotConfigured},
		{"A3 configure again", fixture.In(spec.KindConfigure, &spec.Configure{}), true, spec.CodeConfigured},
		{"A4 malformed body", spec.Input{Kind: spec.KindSuspect, Body: []byte{0xff}}, true, spec.CodeMalformed},
		{"A4 trailing byte", spec.Input{Kind: spec.KindSuspect, Body: append(bytes.Clone(suspect.Body), 0)}, true, spec.CodeMalformed},
		{"pass", suspect, true, 0},
	}
	for _, tc := range tests {
		body, v := Preamble(&tc.in, accepts, tc.configured)
		if v != Fail(tc.code) || (tc.code == 0) != (body != nil) {
			t.Errorf("%s: verdict %+v body %T, want code %s", tc.name, v, body, spec.CodeName(tc.code))
		}
	}
	if body, _ := Preamble(&suspect, accepts, true); body.(*spec.Suspect).View != 3 {
		t.Errorf("decoded %+v", body)
	}
}
