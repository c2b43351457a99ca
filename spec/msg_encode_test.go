package spec

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// generalEncode is the general encoder under the profile, the reference for the hand
// encoders.
func generalEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatalf("general encoder, %T: %v", v, err)
	}
	return b
}

// sameEncoding fails unless Encode and EncodeTo of v (by a hand encoder, which v's
// type must have) equal the general encoder's output.
func sameEncoding(t *testing.T, v any, what string) {
	t.Helper()
	if _, ok := encodeHand(nil, v); !ok {
		t.Fatalf("%s: %T has no hand encoder", what, v)
	}
	want := generalEncode(t, v)
	if got := Encode(v); !bytes.Equal(got, want) {
		t.Fatalf("%s: Encode(%T %+v)\n got % x\nwant % x", what, v, v, got, want)
	}
	var buf bytes.Buffer
	buf.WriteString("kept")
	EncodeTo(&buf, v)
	if got := buf.Bytes(); !bytes.Equal(got[:4], []byte("kept")) || !bytes.Equal(got[4:], want) {
		t.Fatalf("%s: EncodeTo(%T) appended % x, want % x", what, v, got[4:], want)
	}
}

// boundaryUints are the unsigned integers at every head-size boundary.
var boundaryUints = []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64}

// encodeExamples draws one value of every type with a hand encoder: those with a hand
// decoder, and the signed bodies and checkpoints encoded to be signed or checked.
func encodeExamples(rng *rand.Rand) []any {
	vs := handExamples(rng)
	q := randomRequest(rng)
	cb := CheckpointBody{Seq: rng.Uint64() >> rng.IntN(64), Replica: rng.Uint64() >> rng.IntN(64)}
	cb.State[rng.IntN(32)] = byte(rng.Uint32())
	s := randomSlot(rng)
	return append(vs, &q.Body, &s, &cb, &Checkpoint{Body: cb, Sig: Signature{3, 63: 4}})
}

// boundaryExamples are values of the hand-encoded types whose integers and lengths
// are n (lengths at most 70,000), so that every head takes the size n needs.
func boundaryExamples(n uint64) []any {
	s := Slot{View: n, Seq: n, Replica: n}
	op := SealedOp{Ciphertext: make([]byte, min(n, 70000))}
	body := RequestBody{Client: n, Timestamp: n, Ops: []SealedOp{op}}
	return []any{&s, &Commit{Body: s}, &PrePrepare{Body: s}, &body, &Request{Body: body}, &CheckpointBody{Seq: n, Replica: n},
		&Checkpoint{Body: CheckpointBody{Seq: n, Replica: n}}, &Proposal{Header: PrePrepare{Body: s}, Batch: Batch{Requests: []Request{{Body: body}}}},
		&Reply{Client: n, Timestamp: n, Replica: n, View: n, Ciphertext: op.Ciphertext}, &Result{Status: n, Value: op.Ciphertext},
		&ReplyResults{Results: []Result{{Status: n, Value: op.Ciphertext}}}, &ClientMsg{Kind: n, Client: n, Body: op.Ciphertext},
		&Rejection{Index: n, Kind: n, Code: n, Sub: n}, &KVOp{Op: n, Key: op.Ciphertext, Absent: n%2 == 1},
		&Status{Role: n, Replica: n, View: n, Stable: n, Last: n, ViewActive: true, NeedBatch: make([]Digest, min(n, 300))}}
}

// TestHandEncodersMatchGeneral: Encode and EncodeTo of every type with a hand encoder
// give exactly the general encoder's bytes, for random values, for zero values (nil
// slices encode as empty), and for integers and lengths at every head boundary.
func TestHandEncodersMatchGeneral(t *testing.T) {
	const seed = 23
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 200 {
		for _, v := range encodeExamples(rng) {
			sameEncoding(t, v, "seed 23 round "+itoa(round))
		}
	}
	for _, v := range encodeExamples(rng) {
		sameEncoding(t, newOf(v), "zero value")
	}
	for _, n := range boundaryUints {
		for _, v := range boundaryExamples(n) {
			sameEncoding(t, v, "boundary "+itoa(int(min(n, math.MaxInt32))))
		}
	}
	for _, count := range []int{0, 1, 23, 24, 255, 256} {
		var b Batch
		for range count {
			b.Requests = append(b.Requests, Request{Body: RequestBody{Client: 1, Timestamp: 2, Ops: []SealedOp{{}}}})
		}
		results := make([]Result, count)
		sameEncoding(t, &b, "batch of "+itoa(count))
		sameEncoding(t, &Proposal{Batch: b}, "proposal of "+itoa(count))
		sameEncoding(t, &ReplyResults{Results: results}, "results "+itoa(count))
		sameEncoding(t, &Status{NeedBatch: make([]Digest, count)}, "status "+itoa(count))
	}
}

// TestHandEncodersAllocateOnce: Encode of a type with a hand encoder allocates only
// its result (encodedSize bounds the encoding), for random values and for integers
// and lengths at every head boundary.
func TestHandEncodersAllocateOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 0))
	var vs []any
	for range 20 {
		vs = append(vs, encodeExamples(rng)...)
	}
	for _, n := range boundaryUints {
		vs = append(vs, boundaryExamples(n)...)
	}
	for _, v := range vs {
		if n := testing.AllocsPerRun(3, func() { Encode(v) }); n != 1 {
			t.Fatalf("seed 25: Encode(%T) allocates %v times, want 1", v, n)
		}
	}
}

// TestHandEncodersLeaveOthers: a nil pointer, a value (not a pointer) and a type
// without a hand encoder go to the general encoder, which encodes nil as null.
func TestHandEncodersLeaveOthers(t *testing.T) {
	for _, v := range []any{(*Slot)(nil), (*Request)(nil), (*Proposal)(nil), (*Status)(nil), Slot{View: 3}, &ViewChange{}} {
		if _, ok := encodeHand(nil, v); ok {
			t.Errorf("encodeHand took %T", v)
		}
		if got, want := Encode(v), generalEncode(t, v); !bytes.Equal(got, want) {
			t.Errorf("Encode(%T) = % x, want % x", v, got, want)
		}
	}
}

// FuzzHandEncoders: every value the general decoder accepts for a type with a hand
// encoder re-encodes by the hand encoder to the same bytes as by the general one (and
// so, by the round-trip gate, to the input itself).
func FuzzHandEncoders(f *testing.F) {
	rng := rand.New(rand.NewPCG(24, 0))
	for _, v := range encodeExamples(rng) {
		f.Add(Encode(v))
	}
	var types []any // one zero value of each type, built once
	for _, v := range encodeExamples(rand.New(rand.NewPCG(0, 0))) {
		types = append(types, newOf(v))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range types {
			target := newOf(v)
			if len(data) == 0 || data[0]>>5 != 4 || decodeGeneric(data, target) != nil {
				continue
			}
			if got := Encode(target); !bytes.Equal(got, data) {
				t.Fatalf("%T: decoded from % x, Encode gives % x", target, data, got)
			}
		}
	})
}
