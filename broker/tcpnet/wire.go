package tcpnet

import (
	"bytes"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// The messages of tcpnet's two ports, besides broker.PeerMsg. All are encoded with
// the spec codec (canonical CBOR, toarray) and decoded strictly (spec.Decode, with the
// round-trip gate); see doc.go for the protocol.

// Protocol labels carried in the hellos, so that a connection to the wrong port (a
// client on the peer port, a broker on the client port) fails with a clear error.
const (
	PeerProto   = "splitbft/v1/peer"
	ClientProto = "splitbft/v1/client"
)

// PeerHello is the first frame on a peer connection, sent by the dialing broker. It
// only labels the connection for logs and counters: nothing in it is trusted.
type PeerHello struct {
	_       struct{} `cbor:",toarray"`
	Proto   []byte   // PeerProto
	Replica uint64   // the dialing replica's id
}

// ClientMsg is every frame of the client port: Kind is ClientHello, ClientRequest,
// ClientReply, ClientRead or ClientEpoch; Client the client id (of the hello, for
// requests; the addressee, for replies), 0 for an epoch; Body ClientProto (hello),
// enc(spec.Request) (request), enc(spec.Reply) (reply), a chain step (epoch). spec
// decodes it by hand.
type ClientMsg = spec.ClientMsg

// Kinds of ClientMsg.
const (
	ClientHello   uint64 = 1 // client → broker, first frame only
	ClientRequest uint64 = 2 // client → broker
	ClientReply   uint64 = 3 // broker → client: a REPLY, or a READ-REPLY (SPEC.md §16.6)
	ClientRead    uint64 = 4 // client → broker: a READ for the broker's own exec (SPEC.md §16.6)
	// ClientEpoch: broker → client, an epoch change the broker adopted, exactly as
	// adopted, pushed once to every live client connection (SPEC.md §13.2, §17.7).
	// Client is 0: the frame is the same for every client.
	ClientEpoch uint64 = 5
)

// encodeClientMsg returns enc(ClientMsg{kind, client, body}), equal to spec.Encode of
// it, by appending heads and the body.
func encodeClientMsg(kind, client uint64, body []byte) []byte {
	out := spec.AppendHead(make([]byte, 0, len(body)+24), 4, 3)
	out = spec.AppendHead(out, 0, kind)
	out = spec.AppendHead(out, 0, client)
	out = spec.AppendHead(out, 2, uint64(len(body)))
	return append(out, body...)
}

// decodePeerHello decodes and checks a peer hello from a cluster of n replicas
// (n = len(Options.Peers)) received by replica self.
func decodePeerHello(frame []byte, self uint64, n int) (uint64, error) {
	var h PeerHello
	if err := spec.Decode(frame, &h, MaxHelloFrame); err != nil {
		return 0, fmt.Errorf("hello is not a PeerHello: %w", err)
	}
	switch {
	case !bytes.Equal(h.Proto, []byte(PeerProto)):
		return 0, fmt.Errorf("hello is for protocol %q, want %q", h.Proto, PeerProto)
	case h.Replica >= uint64(n):
		return 0, fmt.Errorf("hello claims replica %d of a %d-replica cluster", h.Replica, n)
	case h.Replica == self:
		return 0, fmt.Errorf("hello claims this replica's own id %d", self)
	}
	return h.Replica, nil
}

// decodePeerFrame decodes a peer frame strictly as a PeerMsg whose body decodes as
// its kind (broker.DecodePeer), so that garbage is caught before the event loop, which
// gets the decoded message and never decodes it again.
func decodePeerFrame(frame []byte) (*broker.PeerMsg, any, error) {
	m, body, err := broker.DecodePeer(frame)
	if err != nil {
		return nil, nil, fmt.Errorf("%d-byte frame is not a PeerMsg: %w", len(frame), err)
	}
	return m, body, nil
}

// decodeClientHello decodes a client hello and returns the client id it claims.
func decodeClientHello(frame []byte) (uint64, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxHelloFrame); err != nil {
		return 0, fmt.Errorf("hello is not a ClientMsg: %w", err)
	}
	if m.Kind != ClientHello || !bytes.Equal(m.Body, []byte(ClientProto)) {
		return 0, fmt.Errorf("first frame is kind %d body %q, want a hello (kind %d) for %q", m.Kind, m.Body, ClientHello, ClientProto)
	}
	return m.Client, nil
}

// decodeClientRequest decodes a request frame from the client that said hello as id
// and returns the encoded REQUEST (its exact bytes) with its decoding.
func decodeClientRequest(frame []byte, id uint64) ([]byte, *spec.Request, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxClientFrame); err != nil {
		return nil, nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	if m.Kind != ClientRequest || m.Client != id {
		return nil, nil, fmt.Errorf("frame is kind %d for client %d, want a request (kind %d) for client %d", m.Kind, m.Client, ClientRequest, id)
	}
	var q spec.Request
	if err := spec.Decode(m.Body, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		return nil, nil, fmt.Errorf("request body is not a REQUEST: %w", err)
	}
	if q.Body.Client != id {
		return nil, nil, fmt.Errorf("request is signed as client %d on client %d's connection", q.Body.Client, id)
	}
	return m.Body, &q, nil
}

// decodeClientPush decodes a frame from a broker to client id: a reply (whose
// contents the client's session checks and opens) or an epoch change (which the
// client verifies before it follows it). It returns the kind and the body.
func decodeClientPush(frame []byte, id uint64) (uint64, []byte, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxBrokerFrame); err != nil {
		return 0, nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	switch {
	case m.Kind == ClientEpoch && m.Client == 0:
		var st spec.Step
		if err := spec.Decode(m.Body, &st, spec.MaxBodyBytes(spec.KindRecovery)); err != nil {
			return 0, nil, fmt.Errorf("epoch body is not a chain step (EPOCH-CHANGE or RECOVERY): %w", err)
		}
		return ClientEpoch, m.Body, nil
	case len(frame) > MaxReplyFrame:
		return 0, nil, fmt.Errorf("%d-byte frame of kind %d exceeds the reply cap %d", len(frame), m.Kind, MaxReplyFrame)
	}
	rep, err := decodeClientReply(&m, id)
	return ClientReply, rep, err
}

// decodeClientReply checks a reply frame for client id and returns the encoded REPLY.
func decodeClientReply(m *ClientMsg, id uint64) ([]byte, error) {
	if m.Kind != ClientReply || m.Client != id {
		return nil, fmt.Errorf("frame is kind %d for client %d, want a reply (kind %d) for client %d or an epoch (kind %d) for 0", m.Kind, m.Client, ClientReply, id, ClientEpoch)
	}
	var r spec.Reply
	var rr spec.ReadReply
	var client uint64
	if err := spec.Decode(m.Body, &r, spec.MaxBodyBytes(spec.KindReply)); err == nil {
		client = r.Client
	} else if err := spec.Decode(m.Body, &rr, spec.MaxBodyBytes(spec.KindReadReply)); err == nil {
		client = rr.Client
	} else {
		return nil, fmt.Errorf("reply body is neither a REPLY nor a READ-REPLY: %w", err)
	}
	if client != id {
		return nil, fmt.Errorf("reply for client %d on client %d's connection", client, id)
	}
	return m.Body, nil
}

// isReadFrame reports whether a client frame claims kind ClientRead: enc(ClientMsg)
// starts with the array header 0x83 and then the kind, one byte for kinds below 24.
// The frame is still decoded strictly (decodeClientRead).
func isReadFrame(frame []byte) bool {
	return len(frame) > 2 && frame[0] == 0x83 && uint64(frame[1]) == ClientRead
}

// decodeClientRead decodes a read frame from the client that said hello as id and
// returns the encoded READ (SPEC.md §16.6).
func decodeClientRead(frame []byte, id uint64) ([]byte, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxClientFrame); err != nil {
		return nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	var r spec.Read
	if m.Kind != ClientRead || m.Client != id {
		return nil, fmt.Errorf("frame is kind %d for client %d, want a read (kind %d) for client %d", m.Kind, m.Client, ClientRead, id)
	}
	if err := spec.Decode(m.Body, &r, spec.MaxBodyBytes(spec.KindRead)); err != nil {
		return nil, fmt.Errorf("read body is not a READ: %w", err)
	}
	if r.Client != id {
		return nil, fmt.Errorf("read is for client %d on client %d's connection", r.Client, id)
	}
	return m.Body, nil
}
