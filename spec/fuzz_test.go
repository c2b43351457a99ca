package spec

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets. Run one with, e.g.:
//
//	go test ./spec -run XXX -fuzz FuzzDecode -fuzztime 20s
//
// Without -fuzz they run their seeds as ordinary tests.

// nonKindTargets are decoded by FuzzDecode besides every kind's body type.
var nonKindTargets = []any{&Config{}, &StepInput{}, &StepOutput{}, &Frame{}, &InitRequest{}, &Enrollment{},
	&Snapshot{}, &KVSnapshot{}, &KVOp{}, &KVOp2{}, &Result{}}

// checkDecodeAll decodes data as every kind and every non-kind target: no panic, only
// ErrMalformed errors, and an accepted input re-encodes to exactly itself.
func checkDecodeAll(t *testing.T, data []byte) {
	for _, k := range allKinds() {
		v, err := DecodeKind(k, data)
		desc := Describe(k, data)
		if _, serr := DecodeKindShared(k, data); (serr == nil) != (err == nil) {
			t.Fatalf("%s: DecodeKindShared error %v, DecodeKind error %v", KindName(k), serr, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || desc != KindName(k)+" malformed" {
				t.Fatalf("%s: error %v, Describe %q", KindName(k), err, desc)
			}
			continue
		}
		if again := Encode(v); !bytes.Equal(again, data) {
			t.Fatalf("%s: accepted %x, re-encodes as %x", KindName(k), data, again)
		}
		if shared, err := DecodeKindShared(k, bytes.Clone(data)); err != nil || !reflect.DeepEqual(shared, v) {
			t.Fatalf("%s: DecodeKindShared gives %+v (error %v), DecodeKind %+v", KindName(k), shared, err, v)
		}
		if strings.Contains(desc, "\n") || strings.HasSuffix(desc, "malformed") {
			t.Fatalf("%s: Describe of an accepted body = %q", KindName(k), desc)
		}
	}
	for _, target := range nonKindTargets {
		v := newOf(target)
		err := Decode(data, v, MaxFrameBytes)
		shared := newOf(target)
		if serr := DecodeShared(bytes.Clone(data), shared, MaxFrameBytes); (serr == nil) != (err == nil) || err == nil && !reflect.DeepEqual(shared, v) {
			t.Fatalf("%T: DecodeShared gives %+v (error %v), Decode %+v (error %v)", target, shared, serr, v, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%T: error %v does not wrap ErrMalformed", target, err)
			}
			continue
		}
		if again := Encode(v); !bytes.Equal(again, data) {
			t.Fatalf("%T: accepted %x, re-encodes as %x", target, data, again)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, w := range wireTypes() {
		enc := Encode(w.example)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{0x9f, 0xff})
	f.Fuzz(checkDecodeAll)
}

// FuzzStepInput decodes a StepInput and then each input by its kind; it checks the
// same properties as FuzzDecode and that DescribeStep gives one line per input. The
// same bytes are also tried as a StepOutput.
func FuzzStepInput(f *testing.F) {
	f.Add(Encode(exStepInput()))
	f.Add(Encode(exStepOutput()))
	all := &StepInput{}
	for _, k := range allKinds() {
		all.Inputs = append(all.Inputs, Input{Kind: k, Body: Encode(exampleOf(kindTypes[k]))})
	}
	f.Add(Encode(all))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in StepInput
		if err := Decode(data, &in, MaxFrameBytes); err == nil {
			if !bytes.Equal(Encode(&in), data) {
				t.Fatalf("StepInput %x does not round-trip", data)
			}
			for i := range in.Inputs {
				checkBody(t, in.Inputs[i].Kind, in.Inputs[i].Body)
			}
			if got := strings.Count(DescribeStep(&in), "\n"); got != len(in.Inputs) {
				t.Fatalf("DescribeStep has %d lines for %d inputs", got, len(in.Inputs))
			}
		}
		var out StepOutput
		if err := Decode(data, &out, MaxFrameBytes); err == nil {
			for i := range out.Outputs {
				checkBody(t, out.Outputs[i].Kind, out.Outputs[i].Body)
			}
			if got := strings.Count(DescribeOutput(&out), "\n"); got != len(out.Outputs) {
				t.Fatalf("DescribeOutput has %d lines for %d outputs", got, len(out.Outputs))
			}
		}
	})
}

// checkBody decodes one body by its kind: an accepted body re-encodes to itself.
func checkBody(t *testing.T, kind uint64, body []byte) {
	v, err := DecodeKind(kind, body)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: error %v does not wrap ErrMalformed", KindName(kind), err)
		}
		return
	}
	if !bytes.Equal(Encode(v), body) {
		t.Fatalf("%s: body %x does not round-trip", KindName(kind), body)
	}
}
