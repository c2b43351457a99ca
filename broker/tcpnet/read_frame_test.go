package tcpnet

import (
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
		{"read for another client", "read is for client 7 on client 8's connection", frame(ClientRead, 8, read)},
		{"garbage body", "read body is not a READ", frame(ClientRead, 7, []byte{0x80})},
	}
	for _, tc := range cases {
		id := uint64(7)
		if strings.Contains(tc.name, "another") {
			id = 8
		}
		if !isReadFrame(tc.frame) {
			t.Fatalf("%s: not recognised as a read frame", tc.name)
		}
		body, err := decodeClientRead(tc.frame, id)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Fatalf("%s: got %v, want %q", tc.name, err, tc.err)
		}
		if err == nil && string(body) != string(read) {
			t.Fatalf("%s: body differs", tc.name)
		}
	}
	if isReadFrame(frame(ClientRequest, 7, read)) {
		t.Fatal("a request frame recognised as a read frame")
	}
	rr := spec.Encode(&spec.ReadReply{Client: 7, ReadID: 1, Ciphertext: make([]byte, 17)})
	if _, _, err := decodeClientPush(frame(ClientReply, 7, rr), 7); err != nil {
		t.Fatalf("read reply refused: %v", err)
	}
	if _, _, err := decodeClientPush(frame(ClientReply, 7, []byte{0x80}), 7); err == nil {
		t.Fatal("garbage reply accepted")
	}
	if _, _, err := decodeClientPush(frame(ClientReply, 8, rr), 8); err == nil || !strings.Contains(err.Error(), "client 7 on client 8") {
		t.Fatalf("read reply for another client: %v", err)
	}
}
