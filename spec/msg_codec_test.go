package spec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// randomSlot draws a Slot whose integers cross the head boundaries.
func randomSlot(rng *rand.Rand) Slot {
	s := Slot{View: rng.Uint64() >> rng.IntN(64), Seq: rng.Uint64() >> rng.IntN(64), Replica: rng.Uint64() >> rng.IntN(64)}
	s.Digest[0], s.Digest[31] = byte(rng.Uint32()), byte(rng.Uint32())
	return s
}

// handExamples draws one value of every type with a hand decoder.
func handExamples(rng *rand.Rand) []any {
	var b Batch
	for range rng.IntN(4) {
		b.Requests = append(b.Requests, randomRequest(rng))
	}
	q := randomRequest(rng)
	p := Proposal{Header: PrePrepare{Body: randomSlot(rng)}, Batch: b}
	p.Header.Sig[5] = byte(rng.Uint32())
	rep := Reply{Client: rng.Uint64() >> rng.IntN(64), Timestamp: rng.Uint64() >> rng.IntN(64), Replica: uint64(rng.IntN(300)),
		View: rng.Uint64() >> rng.IntN(64), Ciphertext: make([]byte, []int{0, 17, 24, 300}[rng.IntN(4)])}
	rep.Nonce[3] = byte(rng.Uint32())
	res := Result{Status: rng.Uint64() >> rng.IntN(64), Value: make([]byte, []int{0, 1, 23, 24, 256}[rng.IntN(5)])}
	st := Status{Role: uint64(rng.IntN(3)), Replica: uint64(rng.IntN(300)), Configured: rng.IntN(2) == 0,
		View: rng.Uint64() >> rng.IntN(64), ViewActive: rng.IntN(2) == 0, Stable: rng.Uint64() >> rng.IntN(64),
		Last: rng.Uint64() >> rng.IntN(64), NeedState: rng.IntN(2) == 0, NeedBatch: make([]Digest, []int{0, 1, 3}[rng.IntN(3)])}
	for i := range st.NeedBatch {
		st.NeedBatch[i][i] = byte(rng.Uint32())
	}
	rj := Rejection{Index: uint64(rng.IntN(5000)), Kind: uint64(rng.IntN(300)), Code: uint64(rng.IntN(40)), Sub: rng.Uint64() >> rng.IntN(64)}
	cm := ClientMsg{Kind: uint64(rng.IntN(7)), Client: rng.Uint64() >> rng.IntN(64), Body: Encode(&rep)}
	var list ReplyResults
	for range []int{0, 1, 2, 16}[rng.IntN(4)] {
		list.Results = append(list.Results, Result{Status: rng.Uint64() >> rng.IntN(64), Value: make([]byte, []int{0, 1, 24}[rng.IntN(3)])})
	}
	rr := ReadResults{Results: list.Results}
	kv := KVOp{Op: uint64(rng.IntN(6)), Key: make([]byte, []int{0, 1, 23, 24, 300}[rng.IntN(5)]),
		Value: make([]byte, []int{0, 10, 255, 256}[rng.IntN(4)]), Expected: make([]byte, rng.IntN(30)), Absent: rng.IntN(2) == 0}
	return []any{&q, &b, &p, &PrePrepare{Body: randomSlot(rng)}, &Prepare{Body: randomSlot(rng)},
		&Commit{Body: randomSlot(rng), Sig: Signature{1, 63: 2}}, &rep, &res, &list, &rr, &st, &rj, &cm, &kv}
}

// TestHandDecodersMatchGeneral: random messages of every type with a hand decoder,
// and every truncation and one-byte change of some of them, decode by the hand
// decoder (through Decode) exactly as by the general decoder with its round-trip gate.
func TestHandDecodersMatchGeneral(t *testing.T) {
	const seed = 19
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 60 {
		for _, v := range handExamples(rng) {
			enc := Encode(v)
			sameDecoding(t, v, enc)
			if round%6 != 0 || len(enc) > 4096 {
				continue
			}
			for i := range enc {
				sameDecoding(t, v, enc[:i])
				sameDecoding(t, v, append(append([]byte(nil), enc[:i]...), append([]byte{0x00}, enc[i:]...)...))
				for _, b := range []byte{0x00, 0x17, 0x18, 0x1b, 0x40, 0x58, 0x80, 0x98, 0x9f, 0xc0, 0xf4, 0xf6, 0xff, enc[i] + 1, enc[i] - 1} {
					mut := append([]byte(nil), enc...)
					mut[i] = b
					sameDecoding(t, v, mut)
				}
			}
		}
	}
}

// FuzzHandDecoders: on any input, Decode of each type with a hand decoder accepts
// exactly what the general decoder with its round-trip gate accepts, with equal values.
func FuzzHandDecoders(f *testing.F) {
	rng := rand.New(rand.NewPCG(20, 0))
	for _, v := range handExamples(rng) {
		f.Add(Encode(v))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []any{&Request{}, &Batch{}, &Proposal{}, &PrePrepare{}, &Prepare{}, &Commit{}, &Reply{}, &Result{}, &ReplyResults{}, &ReadResults{}, &Status{}, &Rejection{}, &ClientMsg{}, &KVOp{}} {
			sameDecoding(t, v, data)
		}
		replyHeaderAgrees(t, data)
	})
}

// TestSignedEncodings: EncodeSignedBytes writes SignedBytes of the body's encoding
// after what the buffer held, and EncodeSignedRaw assembles Encode of the signed
// message from the body's exact encoding, for requests of every head size.
func TestSignedEncodings(t *testing.T) {
	const seed = 21
	rng := rand.New(rand.NewPCG(seed, 0))
	cd := Digest{7, 31: 8}
	var buf bytes.Buffer
	for round := range 50 {
		q := randomRequest(rng)
		buf.Reset()
		buf.WriteString("old")
		at := EncodeSignedBytes(&buf, DomainRequest, cd, &q.Body)
		body := Encode(&q.Body)
		if got := buf.Bytes()[3:]; !bytes.Equal(got, SignedBytes(DomainRequest, cd, body)) || !bytes.Equal(buf.Bytes()[at:], body) {
			t.Fatalf("seed %d round %d: EncodeSignedBytes differs from SignedBytes", seed, round)
		}
		if got := EncodeSignedRaw(body, &q.Sig); !bytes.Equal(got, Encode(&q)) {
			t.Fatalf("seed %d round %d: EncodeSignedRaw differs from Encode", seed, round)
		}
	}
	pp := PrePrepare{Body: randomSlot(rng), Sig: Signature{9}}
	if got := EncodeSignedRaw(Encode(&pp.Body), &pp.Sig); !bytes.Equal(got, Encode(&pp)) {
		t.Fatal("EncodeSignedRaw differs from Encode for a PrePrepare")
	}
}

// TestHandDecodersNilTarget: a nil pointer of a hand-decoded type is an error, as with
// the general decoder, not a panic.
func TestHandDecodersNilTarget(t *testing.T) {
	data := Encode(&Prepare{})
	for _, v := range []any{(*StepInput)(nil), (*StepOutput)(nil), (*Request)(nil), (*Batch)(nil), (*Proposal)(nil),
		(*PrePrepare)(nil), (*Prepare)(nil), (*Commit)(nil), (*Reply)(nil), (*Result)(nil),
		(*ReplyResults)(nil), (*ReadResults)(nil)} {
		if err := Decode(data, v, MaxMessageBytes); err == nil {
			t.Errorf("Decode into %T accepted", v)
		}
	}
}

// TestAppendEncoders: EncodeStepOutput, AppendReply, AppendResult and AppendResults
// equal the general encoder for random values with every head size, after what dst held.
func TestAppendEncoders(t *testing.T) {
	const seed = 23
	rng := rand.New(rand.NewPCG(seed, 0))
	num := func() uint64 { return rng.Uint64() >> rng.IntN(65) }
	blob := func() []byte { return make([]byte, []int{0, 1, 23, 24, 255, 256, 70000}[rng.IntN(7)]) }
	for round := range 200 {
		var outs []Output
		for range rng.IntN(5) {
			o := Output{Kind: num(), To: Destination{Roles: num()}, Body: blob()}
			if rng.IntN(2) == 0 {
				o.To.Replicas = []uint64{}
			}
			for range rng.IntN(30) {
				o.To.Replicas = append(o.To.Replicas, num())
			}
			outs = append(outs, o)
		}
		if got, want := EncodeStepOutput(outs), Encode(&StepOutput{Outputs: outs}); !bytes.Equal(got, want) {
			t.Fatalf("seed %d round %d: EncodeStepOutput differs from Encode:\n%x\n%x", seed, round, got, want)
		}
		rep := Reply{Client: num(), Timestamp: num(), Replica: num(), View: num(), Ciphertext: blob()}
		rep.Nonce[rng.IntN(len(rep.Nonce))] = byte(rng.Uint32())
		if got, want := AppendReply([]byte("old"), &rep), append([]byte("old"), Encode(&rep)...); !bytes.Equal(got, want) {
			t.Fatalf("seed %d round %d: AppendReply differs from Encode", seed, round)
		}
		res := Result{Status: num(), Value: blob()}
		if got, want := AppendResult([]byte("x"), &res), append([]byte("x"), Encode(&res)...); !bytes.Equal(got, want) {
			t.Fatalf("seed %d round %d: AppendResult differs from Encode", seed, round)
		}
		var list []Result
		if rng.IntN(4) != 0 {
			list = make([]Result, []int{0, 1, 16, 23, 24, 256}[rng.IntN(6)])
		}
		for i := range list {
			list[i] = Result{Status: num(), Value: make([]byte, []int{0, 1, 24, 300}[rng.IntN(4)])}
		}
		want := append([]byte("y"), Encode(&ReplyResults{Results: list})...)
		if got := AppendResults([]byte("y"), list); !bytes.Equal(got, want) {
			t.Fatalf("seed %d round %d: AppendResults of %d results differs from Encode", seed, round, len(list))
		}
		if got := append([]byte("y"), Encode(&ReadResults{Results: list})...); !bytes.Equal(got, want) {
			t.Fatalf("seed %d round %d: ReadResults and ReplyResults encode differently", seed, round)
		}
	}
}

// replyHeaderAgrees fails if Decode accepts data as a Reply and DecodeReplyHeader
// does not, or returns other values.
func replyHeaderAgrees(t *testing.T, data []byte) {
	t.Helper()
	var r Reply
	if Decode(data, &r, MaxBodyBytes(KindReply)) != nil {
		return
	}
	c, ts, err := DecodeReplyHeader(data)
	if err != nil || c != r.Client || ts != r.Timestamp {
		t.Fatalf("DecodeReplyHeader(%x) = %d, %d, %v; Decode gives %d, %d", data, c, ts, err, r.Client, r.Timestamp)
	}
}

// TestDecodeReplyHeader: on random replies, their truncations and one-byte changes,
// the header agrees with Decode wherever Decode accepts; it refuses what does not
// start as a Reply.
func TestDecodeReplyHeader(t *testing.T) {
	const seed = 29
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 100 {
		rep := Reply{Client: rng.Uint64() >> rng.IntN(65), Timestamp: rng.Uint64() >> rng.IntN(65), Replica: uint64(rng.IntN(300)),
			View: rng.Uint64() >> rng.IntN(64), Ciphertext: make([]byte, rng.IntN(300))}
		enc := Encode(&rep)
		replyHeaderAgrees(t, enc)
		for i := range enc {
			mut := append([]byte(nil), enc...)
			mut[i] ^= byte(1 + rng.IntN(255))
			replyHeaderAgrees(t, mut)
			replyHeaderAgrees(t, enc[:i])
		}
	}
	for _, bad := range [][]byte{nil, {0x85, 0, 0}, {0x86, 0x18, 0x05, 0}, {0x86, 0x01}, {0x86, 0x41, 0}} {
		if _, _, err := DecodeReplyHeader(bad); err == nil {
			t.Errorf("DecodeReplyHeader(%x) accepted", bad)
		}
	}
}

// TestReplyResultsRejects: the plaintext decoder of a REPLY refuses what is not the
// canonical encoding of a ReplyResults, with ErrMalformed, and accepts the canonical
// one with its results in order.
func TestReplyResultsRejects(t *testing.T) {
	good := AppendResults(nil, []Result{{Status: StatusOK, Value: []byte("a")}, {Status: StatusNotFound}})
	var ok ReplyResults
	if err := Decode(good, &ok, MaxBodyBytes(KindReply)); err != nil || len(ok.Results) != 2 ||
		string(ok.Results[0].Value) != "a" || ok.Results[1].Status != StatusNotFound {
		t.Fatalf("canonical ReplyResults: %+v, %v", ok, err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"a bare Result", AppendResult(nil, &Result{Status: StatusOK})},
		{"a bare array of Results", good[1:]},
		{"two fields", append([]byte{0x82}, append(good[1:], 0x80)...)},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"truncated", good[:len(good)-1]},
		{"indefinite array", append([]byte{0x81, 0x9f}, append(good[2:], 0xff)...)},
		{"non-shortest array head", append([]byte{0x81, 0x98, 0x02}, good[2:]...)},
		{"count beyond the bytes", []byte{0x81, 0x99, 0xff, 0xff}},
		{"a Result of three fields", []byte{0x81, 0x81, 0x83, 0x00, 0x40, 0x00}},
	} {
		var r ReplyResults
		if err := Decode(c.data, &r, MaxBodyBytes(KindReply)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s (% x): Decode says %v, want ErrMalformed", c.name, c.data, err)
		}
	}
}
