package tcpnet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// TestReadFrame checks the framing rules: 1 ≤ length ≤ cap, clean and unclean ends.
func TestReadFrame(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{"one frame", appendFrame([]byte("abc")), []byte("abc"), nil},
		{"frame at the cap", appendFrame(bytes.Repeat([]byte{7}, 16)), bytes.Repeat([]byte{7}, 16), nil},
		{"clean end", nil, nil, io.EOF},
		{"truncated prefix", []byte{0, 0}, nil, io.ErrUnexpectedEOF},
		{"zero length", []byte{0, 0, 0, 0}, nil, ErrFrameLength},
		{"length over the cap", append([]byte{0, 0, 0, 17}, make([]byte, 17)...), nil, ErrFrameLength},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff}, nil, ErrFrameLength},
		{"truncated body", []byte{0, 0, 0, 5, 1, 2}, nil, io.ErrUnexpectedEOF},
		{"prefix only", []byte{0, 0, 0, 5}, nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), 16)
			if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, tc.want) {
				t.Fatalf("readFrame = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestReadLargeFrame reads a frame over the eager-allocation size, whole and cut.
func TestReadLargeFrame(t *testing.T) {
	body := bytes.Repeat([]byte{1, 2, 3}, 1<<19) // 1.5 MiB: grown into, not allocated at once
	got, err := readFrame(bufio.NewReader(bytes.NewReader(appendFrame(body))), MaxPeerFrame)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("large frame: %d bytes, %v", len(got), err)
	}
	cut := appendFrame(body)[:1<<20]
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(cut)), MaxPeerFrame); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut large frame: %v, want ErrUnexpectedEOF", err)
	}
}

// TestBackoff checks that delays lie in [cur/2, cur], double up to the maximum, go
// on growing after a short-lived connection and restart at the minimum after a
// long-lived one; and that a seed fixes the sequence.
func TestBackoff(t *testing.T) {
	const lo, hi = 10 * time.Millisecond, 75 * time.Millisecond
	a, err := newBackoff(lo, hi, spec.TestStream("tcpnet-backoff", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newBackoff(lo, hi, spec.TestStream("tcpnet-backoff", 1))
	bounds := []time.Duration{10, 20, 40, 75, 75, 75}
	for i, ub := range bounds {
		ub *= time.Millisecond
		d := a.next()
		if d < ub/2 || d > ub {
			t.Fatalf("delay %d = %v, want within [%v, %v]", i, d, ub/2, ub)
		}
		if e := b.next(); e != d {
			t.Fatalf("delay %d differs between equal seeds: %v, %v", i, d, e)
		}
	}
	a.ended(hi - 1)
	if d := a.next(); d < hi/2 {
		t.Fatalf("delay after a short connection = %v, want within [%v, %v]", d, hi/2, hi)
	}
	a.ended(hi)
	if d := a.next(); d < lo/2 || d > lo {
		t.Fatalf("delay after a long connection = %v, want within [%v, %v]", d, lo/2, lo)
	}
	if _, err := newBackoff(lo, hi, bytes.NewReader(nil)); err == nil {
		t.Fatal("newBackoff with an empty seed source succeeded")
	}
}

// FuzzPeerFrame feeds arbitrary bytes through the reader of an inbound peer
// connection: framing and strict decoding never panic, and whatever passes is a
// PeerMsg the broker can decode.
func FuzzPeerFrame(f *testing.F) {
	f.Add(appendFrame(broker.EncodePeer(broker.KindHint, spec.Encode(&broker.Hint{}))))
	f.Add([]byte{0, 0, 0, 0})
	f.Add(appendFrame([]byte{0x82, 0x01, 0x40}))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for {
			frame, err := readFrame(r, MaxPeerFrame)
			if err != nil {
				return
			}
			if _, _, err := decodePeerFrame(frame); err == nil {
				if _, _, err := broker.DecodePeer(frame); err != nil {
					t.Fatalf("accepted a frame the broker rejects: %v", err)
				}
			}
		}
	})
}

// TestEncodeClientMsg: the appended encoding equals spec.Encode across head sizes.
func TestEncodeClientMsg(t *testing.T) {
	for _, kind := range []uint64{ClientHello, ClientRequest, ClientReply, 24} {
		for _, client := range []uint64{0, 23, 24, 1 << 33} {
			for _, n := range []int{0, 24, 300, 70000} {
				body := bytes.Repeat([]byte{9}, n)
				if got, want := encodeClientMsg(kind, client, body), spec.Encode(&ClientMsg{Kind: kind, Client: client, Body: body}); !bytes.Equal(got, want) {
					t.Fatalf("kind %d client %d body %d: differs from spec.Encode", kind, client, n)
				}
			}
		}
	}
}

// TestReplyFrameCap: the reply frame cap is the kind table's reply cap + 64 (SPEC.md
// §13.2), which holds a read reply too, and a client decodes the largest REPLY a
// broker may send it: one of the largest request's results, each a largest kv value.
func TestReplyFrameCap(t *testing.T) {
	if MaxReplyFrame != spec.MaxBodyBytes(spec.KindReply)+64 || MaxReplyFrame < spec.MaxBodyBytes(spec.KindReadReply)+64 {
		t.Fatalf("MaxReplyFrame %d, reply cap %d, read-reply cap %d", MaxReplyFrame, spec.MaxBodyBytes(spec.KindReply), spec.MaxBodyBytes(spec.KindReadReply))
	}
	res := make([]spec.Result, spec.MaxRequestOpsLimit)
	for i := range res {
		res[i] = spec.Result{Status: spec.StatusOK, Value: make([]byte, spec.MaxKVValue)}
	}
	rep := spec.Reply{Client: 1<<64 - 1, Timestamp: 1<<64 - 1, Replica: 1<<64 - 1, View: 1<<64 - 1,
		Ciphertext: make([]byte, len(spec.AppendResults(nil, res))+16)}
	frame := encodeClientMsg(ClientReply, rep.Client, spec.Encode(&rep))
	kind, to, body, err := decodeClientPush(frame, func(c uint64) bool { return c == rep.Client })
	if err != nil || kind != ClientReply || to != rep.Client || len(body) != len(spec.Encode(&rep)) {
		t.Fatalf("largest reply (%d-byte frame, cap %d): kind %d, %v", len(frame), MaxReplyFrame, kind, err)
	}
}
