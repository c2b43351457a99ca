package spec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// randomRequest draws a request whose sizes cross the CBOR head boundaries (23/24,
// 255/256 bytes or elements), so that raw assembly is checked against every head size.
func randomRequest(rng *rand.Rand) Request {
	var q Request
	q.Body.Client = rng.Uint64() >> rng.IntN(64)
	q.Body.Timestamp = rng.Uint64() >> rng.IntN(64)
	sizes := []int{17, 23, 24, 255, 256, 300, 70000}
	for range 1 + rng.IntN(3) {
		op := SealedOp{Ciphertext: make([]byte, sizes[rng.IntN(len(sizes))])}
		for i := range op.Nonce {
			op.Nonce[i] = byte(rng.Uint32())
		}
		op.Ciphertext[0] = byte(rng.Uint32())
		q.Body.Ops = append(q.Body.Ops, op)
	}
	q.Sig[0], q.Sig[63] = byte(rng.Uint32()), byte(rng.Uint32())
	return q
}

// TestRawBatchMatchesEncode: a batch assembled from its requests' encodings equals
// Encode of the batch, and splits back into exactly those encodings, for every number
// of requests around the head boundaries (0, 23, 24, 255, 256).
func TestRawBatchMatchesEncode(t *testing.T) {
	const seed = 12
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, n := range []int{0, 1, 2, 23, 24, 25, 255, 256} {
		var b Batch
		var raws [][]byte
		for range n {
			q := randomRequest(rng)
			b.Requests = append(b.Requests, q)
			raws = append(raws, Encode(&q))
		}
		got, want := EncodeBatchRaw(raws), Encode(&b)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d, %d requests: EncodeBatchRaw differs from Encode", seed, n)
		}
		split, err := BatchRequestsRaw(want)
		if err != nil || len(split) != n {
			t.Fatalf("seed %d, %d requests: split into %d (%v)", seed, n, len(split), err)
		}
		for i := range split {
			if !bytes.Equal(split[i], raws[i]) {
				t.Fatalf("seed %d, %d requests: request %d differs after the split", seed, n, i)
			}
		}
	}
}

// TestRawParts: the raw parts of a proposal and of a signed request are the
// encodings of the decoded parts.
func TestRawParts(t *testing.T) {
	const seed = 13
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 20 {
		q := randomRequest(rng)
		body, err := SignedBodyRaw(Encode(&q))
		if err != nil || !bytes.Equal(body, Encode(&q.Body)) {
			t.Fatalf("seed %d case %d: request body raw differs (%v)", seed, i, err)
		}
		p := Proposal{Header: PrePrepare{Body: Slot{View: rng.Uint64(), Seq: uint64(i)}}}
		for range rng.IntN(30) {
			p.Batch.Requests = append(p.Batch.Requests, randomRequest(rng))
		}
		h, b, err := ProposalPartsRaw(Encode(&p))
		if err != nil || !bytes.Equal(h, Encode(&p.Header)) || !bytes.Equal(b, Encode(&p.Batch)) {
			t.Fatalf("seed %d case %d: proposal parts differ (%v)", seed, i, err)
		}
	}
}

// TestArrayElemsRejects: framing errors are errors, never panics.
func TestArrayElemsRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0x01}},
		{"truncated array", []byte{0x82, 0x01}},
		{"trailing byte", []byte{0x81, 0x01, 0x01}},
		{"indefinite array", []byte{0x9f, 0x01, 0xff}},
		{"indefinite element", []byte{0x81, 0x5f, 0x41, 0x00, 0xff}},
		{"truncated head", []byte{0x81, 0x19, 0x01}},
		{"string past the end", []byte{0x81, 0x45, 0x00}},
		{"huge declared length", []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"huge map", []byte{0x81, 0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"reserved head", []byte{0x81, 0x1c}},
		{"too deep", append(bytes.Repeat([]byte{0x81}, MaxNesting+2), 0x00)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ArrayElems(tc.in); err == nil {
				t.Fatalf("ArrayElems(% x) accepted", tc.in)
			}
		})
	}
}

// FuzzArrayElems: ArrayElems never panics, and on success the array head followed by
// the elements is exactly the input.
func FuzzArrayElems(f *testing.F) {
	f.Add(Encode(&Batch{}))
	f.Add(Encode(&Proposal{}))
	f.Add([]byte{0x82, 0x18, 0x18, 0x41, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		elems, err := ArrayElems(data)
		if err != nil {
			return
		}
		_, pos, _ := head(data, 0)
		got := append([]byte(nil), data[:pos]...)
		for _, e := range elems {
			got = append(got, e...)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("elements of % x do not concatenate to it", data)
		}
	})
}

// TestEncodeStepInputMatchesEncode: the appended encoding equals Encode for inputs
// whose kinds and body sizes cross the head boundaries.
func TestEncodeStepInputMatchesEncode(t *testing.T) {
	const seed = 14
	rng := rand.New(rand.NewPCG(seed, 0))
	kinds := []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, 1 << 32, 1<<64 - 1}
	sizes := []int{0, 1, 23, 24, 255, 256, 65535, 65536}
	for _, n := range []int{0, 1, 5, 24, 300} {
		var in StepInput
		for range n {
			body := make([]byte, sizes[rng.IntN(len(sizes))])
			if len(body) > 0 {
				body[0] = byte(rng.Uint32())
			}
			in.Inputs = append(in.Inputs, Input{Kind: kinds[rng.IntN(len(kinds))], Body: body})
		}
		if !bytes.Equal(EncodeStepInput(in.Inputs), Encode(&in)) {
			t.Fatalf("seed %d, %d inputs: EncodeStepInput differs from Encode", seed, n)
		}
	}
}

// FuzzDecodeFrame: the frame decoder accepts exactly the inputs that Decode (the
// general strict decoder with its round-trip gate, kept as the oracle) accepts as a
// Frame, with equal values.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{{}, {Op: 2, Body: []byte{0x81, 0x80}}, {Op: 24, Body: make([]byte, 300)}, {Op: 1 << 40, Body: make([]byte, 70000)}} {
		f.Add(Encode(&fr))
	}
	for _, bad := range [][]byte{{0x82, 0x18, 0x01, 0x40}, {0x82, 0x01, 0x58, 0x01, 0x00}, {0x83, 0x01, 0x40, 0x00},
		{0x82, 0x01, 0x40, 0x00}, {0x82, 0x01, 0x60}, {0x82, 0x01, 0x5f, 0xff}, {0x98, 0x02, 0x01, 0x40}, {0x82, 0x20, 0x40}, {0x82, 0xf6, 0x40}, {0x82, 0x01, 0xf6}} {
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeFrame(data)
		var want Frame
		werr := Decode(data, &want, MaxFrameBytes)
		if (err == nil) != (werr == nil) {
			t.Fatalf("% x: decodeFrame error %v, Decode error %v", data, err, werr)
		}
		if err == nil && (got.Op != want.Op || !bytes.Equal(got.Body, want.Body)) {
			t.Fatalf("% x: decodeFrame %d/% x, Decode %d/% x", data, got.Op, got.Body, want.Op, want.Body)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("% x: error %v does not wrap ErrMalformed", data, err)
		}
	})
}

// TestWriteFrameMatchesEncode: WriteFrame writes the length and then exactly
// Encode(&Frame), for ops and bodies across the head boundaries.
func TestWriteFrameMatchesEncode(t *testing.T) {
	for _, op := range []uint64{0, 3, 23, 24, 1 << 20} {
		for _, n := range []int{0, 23, 24, 255, 256, 70000} {
			f := Frame{Op: op, Body: bytes.Repeat([]byte{7}, n)}
			var got bytes.Buffer
			if err := WriteFrame(&got, &f); err != nil {
				t.Fatal(err)
			}
			enc := Encode(&f)
			want := append([]byte{byte(len(enc) >> 24), byte(len(enc) >> 16), byte(len(enc) >> 8), byte(len(enc))}, enc...)
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("op %d, %d-byte body: WriteFrame differs from the length and Encode", op, n)
			}
		}
	}
}
