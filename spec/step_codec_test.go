package spec

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomStepInput draws a StepInput whose kinds and body sizes cross the CBOR head
// boundaries.
func randomStepInput(rng *rand.Rand) StepInput {
	var in StepInput
	sizes := []int{0, 1, 23, 24, 255, 256, 70000}
	for range rng.IntN(30) {
		b := make([]byte, sizes[rng.IntN(len(sizes))])
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		in.Inputs = append(in.Inputs, Input{Kind: rng.Uint64() >> rng.IntN(64), Body: b})
	}
	return in
}

// sameDecoding decodes data into a fresh value of example's type by Decode, by
// DecodeShared and by the general path and fails unless all reject it, or all accept
// it with equal values.
func sameDecoding(t *testing.T, example any, data []byte) {
	t.Helper()
	fast, slow, shared := newOf(example), newOf(example), newOf(example)
	errFast := Decode(data, fast, MaxFrameBytes)
	errShared := DecodeShared(bytes.Clone(data), shared, MaxFrameBytes)
	if (errShared == nil) != (errFast == nil) || errFast == nil && !reflect.DeepEqual(fast, shared) {
		t.Fatalf("%T % x: Decode gives %+v (%v), DecodeShared %+v (%v)", example, data, fast, errFast, shared, errShared)
	}
	errSlow := error(nil)
	if len(data) == 0 || data[0]>>5 != 4 {
		errSlow = ErrMalformed
	} else {
		errSlow = decodeGeneric(data, slow)
	}
	switch {
	case (errFast == nil) != (errSlow == nil):
		t.Fatalf("%T % x: Decode says %v, the general decoder %v", example, data, errFast, errSlow)
	case errFast == nil && !reflect.DeepEqual(fast, slow):
		t.Fatalf("%T % x: Decode gives %+v, the general decoder %+v", example, data, fast, slow)
	}
}

// TestStepEnvelopesMatchGeneral: random StepInputs and StepOutputs, and every
// truncation and one-byte change of a few of them, decode by the envelope decoders
// exactly as by the general decoder with its round-trip gate.
func TestStepEnvelopesMatchGeneral(t *testing.T) {
	const seed = 17
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 100 {
		in, out := randomStepInput(rng), randomStepOutput(rng)
		for _, v := range []any{&in, &out} {
			enc := Encode(v)
			sameDecoding(t, v, enc)
			if round%20 != 0 || len(enc) > 4096 {
				continue
			}
			for i := range enc {
				sameDecoding(t, v, enc[:i])
				for _, b := range []byte{0x00, 0x17, 0x18, 0x40, 0x58, 0x80, 0x98, 0x9f, 0xc0, 0xf6, 0xff, enc[i] + 1, enc[i] - 1} {
					mut := append([]byte(nil), enc...)
					mut[i] = b
					sameDecoding(t, v, mut)
				}
			}
		}
	}
}

// FuzzStepEnvelopes: on any input, Decode of a StepInput and of a StepOutput (the
// envelope decoders) accepts exactly what the general decoder with its round-trip
// gate accepts, with equal values.
func FuzzStepEnvelopes(f *testing.F) {
	rng := rand.New(rand.NewPCG(18, 0))
	for range 3 {
		in, out := randomStepInput(rng), randomStepOutput(rng)
		f.Add(Encode(&in))
		f.Add(Encode(&out))
	}
	f.Add(Encode(exStepInput()))
	f.Add(Encode(exStepOutput()))
	f.Add([]byte{0x81, 0x81, 0x83, 0x01, 0x82, 0x00, 0x81, 0x18, 0x05, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		sameDecoding(t, &StepInput{}, data)
		sameDecoding(t, &StepOutput{}, data)
	})
}

// TestHeadSize: headSize is the length AppendHead gives, around every boundary.
func TestHeadSize(t *testing.T) {
	for _, n := range []uint64{0, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<64 - 1} {
		if got, want := headSize(n), len(AppendHead(nil, 0, n)); got != want {
			t.Errorf("headSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// BenchmarkDecodeStepOutput compares the envelope decoder with the general decoder and
// its round-trip gate on an exec-like StepOutput: 64 replies of 120 bytes and a status.
func BenchmarkDecodeStepOutput(b *testing.B) {
	var so StepOutput
	for range 64 {
		so.Outputs = append(so.Outputs, Output{Kind: KindReply, Body: make([]byte, 120)})
	}
	so.Outputs = append(so.Outputs, Output{Kind: KindStatus, To: Destination{Roles: 1, Replicas: []uint64{0, 1, 2, 3}}, Body: make([]byte, 40)})
	enc := Encode(&so)
	for _, c := range []struct {
		name   string
		decode func([]byte, any) error
	}{
		{"envelope", func(d []byte, v any) error { return Decode(d, v, MaxMessageBytes) }},
		{"general", decodeGeneric},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out StepOutput
				if err := c.decode(enc, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
