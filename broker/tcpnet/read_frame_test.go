package tcpnet

import (
	"slices"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestReadFrames checks the client port's read frames (kind 4, SPEC.md §16.6): a READ
// for the connection's client is taken, anything else is refused with a reason, and
// a READ-REPLY is accepted on the reply side like a REPLY.
func TestReadFrames(t *testing.T) {
	read := spec.Encode(&spec.Read{Client: 7, ReadID: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 17)}}})
	frame := func(kind, client uint64, body []byte) []byte {
		return spec.Encode(&ClientMsg{Kind: kind, Client: client, Body: body})
	}
	cases := []struct {
		name, err string
		frame     []byte
	}{
		{"read", "", frame(ClientRead, 7, read)},
		{"read in another client's frame", "read for client 7 in a frame for client 8", frame(ClientRead, 8, read)},
		{"garbage body", "read body is not a READ", frame(ClientRead, 7, []byte{0x80})},
	}
	for _, tc := range cases {
		if clientFrameKind(tc.frame) != ClientRead {
			t.Fatalf("%s: not recognised as a read frame", tc.name)
		}
		client, body, err := decodeClientRead(tc.frame)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Fatalf("%s: got %v, want %q", tc.name, err, tc.err)
		}
		if err == nil && (string(body) != string(read) || client != 7) {
			t.Fatalf("%s: client %d, body differs: %v", tc.name, client, string(body) != string(read))
		}
	}
	if clientFrameKind(frame(ClientRequest, 7, read)) != ClientRequest {
		t.Fatal("a request frame not recognised as one")
	}
	rr := spec.Encode(&spec.ReadReply{Client: 7, ReadID: 1, Ciphertext: make([]byte, 17)})
	is := func(ids ...uint64) func(uint64) bool {
		return func(c uint64) bool { return slices.Contains(ids, c) }
	}
	if _, to, _, err := decodeClientPush(frame(ClientReply, 7, rr), is(7)); err != nil || to != 7 {
		t.Fatalf("read reply refused: %v (to %d)", err, to)
	}
	if _, _, _, err := decodeClientPush(frame(ClientReply, 7, []byte{0x80}), is(7)); err == nil {
		t.Fatal("garbage reply accepted")
	}
	if _, _, _, err := decodeClientPush(frame(ClientReply, 8, rr), is(7, 8)); err == nil || !strings.Contains(err.Error(), "client 7 in a frame for client 8") {
		t.Fatalf("read reply for another client: %v", err)
	}
	if _, _, _, err := decodeClientPush(frame(ClientReply, 7, rr), is(8)); err == nil || !strings.Contains(err.Error(), "for client 7, want a reply") {
		t.Fatalf("read reply for a client not on the connection: %v", err)
	}
}
