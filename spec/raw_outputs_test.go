package spec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// randomStepOutput draws a StepOutput whose kinds, destinations and body sizes cross
// the CBOR head boundaries.
func randomStepOutput(rng *rand.Rand) StepOutput {
	var out StepOutput
	sizes := []int{0, 1, 23, 24, 255, 256, 70000}
	kinds := []uint64{KindCheckpoint, KindReply, KindPrepare, 23, 24, 255, 256}
	for range rng.IntN(30) {
		o := Output{Kind: kinds[rng.IntN(len(kinds))], Body: make([]byte, sizes[rng.IntN(len(sizes))])}
		for i := range o.Body {
			o.Body[i] = byte(rng.Uint32())
		}
		o.To.Roles = rng.Uint64() >> rng.IntN(64)
		for range rng.IntN(5) {
			o.To.Replicas = append(o.To.Replicas, rng.Uint64()>>rng.IntN(64))
		}
		out.Outputs = append(out.Outputs, o)
	}
	return out
}

// TestOutputBodiesRaw: the bodies found in the encoding of a StepOutput are exactly
// those of its outputs of the asked kind, in order.
func TestOutputBodiesRaw(t *testing.T) {
	const seed = 15
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 200 {
		so := randomStepOutput(rng)
		kind := []uint64{KindCheckpoint, KindReply, 24, 256}[round%4]
		var want, got [][]byte
		for _, o := range so.Outputs {
			if o.Kind == kind {
				want = append(want, o.Body)
			}
		}
		err := OutputBodiesRaw(Encode(&so), kind, func(b []byte) { got = append(got, b) })
		if err != nil || len(got) != len(want) {
			t.Fatalf("seed %d round %d: %d bodies of kind %d, want %d (%v)", seed, round, len(got), kind, len(want), err)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("seed %d round %d: body %d differs", seed, round, i)
			}
		}
	}
}

// TestOutputBodiesRawRejects: framing that is not a StepOutput's is an error.
func TestOutputBodiesRawRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0x01}},
		{"two fields", []byte{0x82, 0x80, 0x80}},
		{"output of two fields", []byte{0x81, 0x81, 0x82, 0x01, 0x40}},
		{"kind not a uint", []byte{0x81, 0x81, 0x83, 0x40, 0x82, 0x00, 0x80, 0x40}},
		{"body not a bstr", []byte{0x81, 0x81, 0x83, 0x01, 0x82, 0x00, 0x80, 0x01}},
		{"truncated body", []byte{0x81, 0x81, 0x83, 0x01, 0x82, 0x00, 0x80, 0x45, 0x00}},
		{"trailing byte", []byte{0x81, 0x80, 0x00}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := OutputBodiesRaw(tc.in, 1, func([]byte) {}); err == nil {
				t.Fatalf("OutputBodiesRaw(% x) accepted", tc.in)
			}
		})
	}
}

// FuzzOutputBodiesRaw: OutputBodiesRaw never panics, and on any input that Decode
// accepts as a StepOutput it finds exactly the bodies of the decoded outputs.
func FuzzOutputBodiesRaw(f *testing.F) {
	rng := rand.New(rand.NewPCG(16, 0))
	for range 4 {
		so := randomStepOutput(rng)
		f.Add(Encode(&so))
	}
	f.Add([]byte{0x81, 0x81, 0x83, 0x01, 0x82, 0x00, 0x80, 0x41, 0x07})
	f.Fuzz(func(t *testing.T, data []byte) {
		var all [][]byte
		rawErr := OutputBodiesRaw(data, KindCheckpoint, func(b []byte) { all = append(all, b) })
		var so StepOutput
		if Decode(data, &so, MaxMessageBytes) != nil {
			return
		}
		if rawErr != nil {
			t.Fatalf("Decode accepts % x, OutputBodiesRaw does not: %v", data, rawErr)
		}
		var want [][]byte
		for _, o := range so.Outputs {
			if o.Kind == KindCheckpoint {
				want = append(want, o.Body)
			}
		}
		if len(all) != len(want) {
			t.Fatalf("% x: %d bodies, Decode has %d", data, len(all), len(want))
		}
		for i := range all {
			if !bytes.Equal(all[i], want[i]) {
				t.Fatalf("% x: body %d differs from Decode's", data, i)
			}
		}
	})
}
