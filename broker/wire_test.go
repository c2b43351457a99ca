package broker

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func TestPeerMsgRoundTrip(t *testing.T) {
	bodies := []struct {
		kind uint64
		body any
	}{
		{KindHint, &Hint{ExecLast: 5, View: 2, Active: true}},
		{KindFetchBatch, &BatchFetch{Digests: []spec.Digest{{1}, {2}}}},
		{spec.KindPrepare, &spec.Prepare{Body: spec.Slot{Seq: 3}}},
		{spec.KindBatch, &spec.Batch{Requests: make([]spec.Request, 3)}}, // a body over 255 bytes
	}
	for _, b := range bodies {
		msg := EncodePeer(b.kind, spec.Encode(b.body))
		if want := spec.Encode(&PeerMsg{Kind: b.kind, Body: spec.Encode(b.body)}); !bytes.Equal(msg, want) {
			t.Fatalf("%s: EncodePeer differs from spec.Encode", spec.KindName(b.kind))
		}
		m, v, err := DecodePeer(msg)
		if err != nil || m.Kind != b.kind || !bytes.Equal(spec.Encode(v), spec.Encode(b.body)) {
			t.Fatalf("%s: %v", spec.KindName(b.kind), err)
		}
	}
}

// FuzzHandlePeer: arbitrary peer bytes never panic the broker and never reach a
// compartment undecoded (the fake enclaves panic on undecodable input).
func FuzzHandlePeer(f *testing.F) {
	w := newWorld(f, 1, 2, 9)
	prop, _ := testProposalFor(w, f)
	f.Add(uint64(2), EncodePeer(spec.KindProposal, spec.Encode(prop)))
	f.Add(uint64(2), EncodePeer(KindFetchBatch, spec.Encode(&BatchFetch{Digests: []spec.Digest{{1}}})))
	f.Add(uint64(3), EncodePeer(KindHint, spec.Encode(&Hint{})))
	f.Add(uint64(0), EncodePeer(spec.KindRequest, spec.Encode(&prop.Batch.Requests[0])))
	f.Add(uint64(2), []byte{0x82, 0x01, 0x40})
	f.Fuzz(func(t *testing.T, from uint64, msg []byte) {
		h := harnessIn(w, 1, Options{})
		h.r.HandlePeer(from, msg)
		h.r.HandleClient(msg)
		h.r.Flush()
		h.ticks(2)
	})
}

// TestPeerKindsFromTable: the peer wire accepts exactly the spec kinds the kind table
// marks as peer kinds, plus the broker's own.
func TestPeerKindsFromTable(t *testing.T) {
	for _, info := range spec.Kinds() {
		_, _, err := DecodePeer(EncodePeer(info.Kind, spec.Encode(info.New())))
		if (err == nil) != info.Peer {
			t.Errorf("%s: peer wire error %v, peer kind %v", info.Name, err, info.Peer)
		}
	}
	for _, k := range []uint64{0, 13, 127, 130} {
		if _, _, err := DecodePeer(EncodePeer(k, []byte{0x80})); err == nil {
			t.Errorf("kind %d accepted on the peer wire", k)
		}
	}
}
