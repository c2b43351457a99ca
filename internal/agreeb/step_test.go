package agreeb

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// stub is a compartment side of Step that records what it is given.
type stub struct {
	configured bool
	retired    bool
	code, sub  uint64   // returned by every dispatch
	seen       []uint64 // the index of each dispatched input
}

func (s *stub) handler() *Handler {
	return &Handler{
		Accepts:    map[uint64]bool{spec.KindConfigure: true, spec.KindSuspect: true},
		Configured: func() bool { return s.configured },
		Retired:    func() bool { return s.retired },
		Dispatch: func(out *Outputs, idx uint64, body any) (uint64, uint64) {
			s.seen = append(s.seen, idx)
			if _, ok := body.(*spec.Configure); ok && s.code == 0 {
				s.configured = true
			}
			out.Local(spec.KindSuspect, &spec.Suspect{View: idx}) // an output of its own
			return s.code, s.sub
		},
		Status: func() *spec.Status { return &spec.Status{Configured: s.configured} },
	}
}

func input(kind uint64, body any) spec.Input { return spec.Input{Kind: kind, Body: spec.Encode(body)} }

func reject(idx, kind, code, sub uint64) spec.Output {
	return spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: idx, Kind: kind, Code: code, Sub: sub})}
}

func local(kind uint64, body any) spec.Output {
	return spec.Output{Kind: kind, Body: spec.Encode(body)}
}

// TestStep covers the Step loop (§7.4) and the preamble A1–A4 (§8.1): each input
// failing exactly one line gets that code and is not dispatched; dispatched inputs
// keep their outputs, their code and Sub; one Status ends every StepOutput.
func TestStep(t *testing.T) {
	suspect := input(spec.KindSuspect, &spec.Suspect{View: 3})
	configure := input(spec.KindConfigure, &spec.Configure{})
	cases := []struct {
		name       string
		configured bool
		code, sub  uint64
		raw        []byte
		want       []spec.Output // before the Status
		dispatched []uint64
	}{
		{"malformed StepInput", false, 0, 0, []byte{0x01}, []spec.Output{reject(0, 0, spec.CodeMalformed, 0)}, nil},
		{"too many inputs", true, 0, 0, spec.Encode(&spec.StepInput{Inputs: make([]spec.Input, spec.MaxStepInputs+1)}), []spec.Output{reject(0, 0, spec.CodeMalformed, 0)}, nil},
		{"A1 unknown kind", true, 0, 0, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: spec.KindCommit}}}), []spec.Output{reject(0, spec.KindCommit, spec.CodeUnknownKind, 0)}, nil},
		{"A2 not configured", false, 0, 0, spec.Encode(&spec.StepInput{Inputs: []spec.Input{suspect}}), []spec.Output{reject(0, spec.KindSuspect, spec.CodeNotConfigured, 0)}, nil},
		{"A3 configured", true, 0, 0, spec.Encode(&spec.StepInput{Inputs: []spec.Input{configure}}), []spec.Output{reject(0, spec.KindConfigure, spec.CodeConfigured, 0)}, nil},
		{"A4 malformed body", true, 0, 0, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: spec.KindSuspect, Body: []byte{0x80}}}}), []spec.Output{reject(0, spec.KindSuspect, spec.CodeMalformed, 0)}, nil},
		{"rejected with sub", true, spec.CodeBadRequest, 2, spec.Encode(&spec.StepInput{Inputs: []spec.Input{suspect}}),
			[]spec.Output{local(spec.KindSuspect, &spec.Suspect{View: 0}), reject(0, spec.KindSuspect, spec.CodeBadRequest, 2)}, []uint64{0}},
		{"configure then accepted", false, 0, 0, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: 99}, configure, suspect}}),
			[]spec.Output{reject(0, 99, spec.CodeUnknownKind, 0), local(spec.KindSuspect, &spec.Suspect{View: 1}), local(spec.KindSuspect, &spec.Suspect{View: 2})}, []uint64{1, 2}},
	}
	for _, c := range cases {
		s := &stub{configured: c.configured, code: c.code, sub: c.sub}
		got := Step(c.raw, s.handler())
		want := spec.Encode(&spec.StepOutput{Outputs: append(c.want, local(spec.KindStatus, &spec.Status{Configured: s.configured}))})
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, spec.DescribeOutput(decode(t, got)), spec.DescribeOutput(decode(t, want)))
		}
		if !equal(s.seen, c.dispatched) {
			t.Errorf("%s: dispatched %v, want %v", c.name, s.seen, c.dispatched)
		}
	}
}

// TestStepRetired checks §8.1 after retirement (§17.4): every input, whatever its
// kind or body, is rejected retired before line A1 and never dispatched.
func TestStepRetired(t *testing.T) {
	s := &stub{configured: true, retired: true}
	in := []spec.Input{{Kind: 99}, input(spec.KindConfigure, &spec.Configure{}), input(spec.KindSuspect, &spec.Suspect{View: 0}), {Kind: spec.KindSuspect, Body: []byte{0x80}}}
	got := Step(spec.Encode(&spec.StepInput{Inputs: in}), s.handler())
	var want []spec.Output
	for i := range in {
		want = append(want, reject(uint64(i), in[i].Kind, spec.CodeRetired, 0))
	}
	want = append(want, local(spec.KindStatus, &spec.Status{Configured: true}))
	if !bytes.Equal(got, spec.Encode(&spec.StepOutput{Outputs: want})) {
		t.Fatalf("got\n%s", spec.DescribeOutput(decode(t, got)))
	}
	if len(s.seen) != 0 {
		t.Fatalf("dispatched %v at a retired compartment", s.seen)
	}
}

func decode(t *testing.T, raw []byte) *spec.StepOutput {
	var so spec.StepOutput
	if err := spec.Decode(raw, &so, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	return &so
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSortedKeys checks the increasing order of SortedKeys, empty maps included.
func TestSortedKeys(t *testing.T) {
	if k := SortedKeys(map[uint64]bool{}); len(k) != 0 {
		t.Fatalf("keys of an empty map: %v", k)
	}
	if k := SortedKeys(map[uint64]int{9: 0, 1: 0, 1 << 63: 0, 4: 0}); !equal(k, []uint64{1, 4, 9, 1 << 63}) {
		t.Fatalf("keys %v", k)
	}
}
