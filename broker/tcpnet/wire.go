package tcpnet

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// The messages of tcpnet's two ports, besides broker.PeerMsg. All are encoded with
// the spec codec (canonical CBOR, toarray) and decoded strictly (spec.Decode, or
// DecodeShared for request frames, which accepts the same bytes; with the round-trip
// gate); see doc.go for the protocol.

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
	// ClientAttach: client → broker, adds identity Client to the connection (Body: that
	// client's signature over AttachSignedBytes of the connection's binding), so that
	// one connection carries the requests and replies of many clients (SPEC.md §13.2).
	ClientAttach uint64 = 6
)

// AttachBindingLabel is the TLS 1.3 exporter label of a client connection's
// binding (RFC 8446 §7.5): the 32 bytes an attach signature covers, unique to the
// connection's TLS session, so that an attach is valid on that connection only.
const AttachBindingLabel = "EXPORTER-splitbft/v1/client-attach"

// AttachSignedBytes are the bytes client signs to attach itself to the connection
// whose binding is b (SPEC.md §3.4, §13.2): the attach domain, a zero byte, the
// binding in the place of a config digest, and enc(client).
func AttachSignedBytes(b [32]byte, client uint64) []byte {
	return spec.SignedBytes(spec.DomainClientAttach, spec.Digest(b), spec.AppendHead(nil, 0, client))
}

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

// decodeClientRequest decodes a request frame and returns the client it is for (the
// frame's Client, equal to the signed body's), the encoded REQUEST (its exact bytes)
// and its decoding. The caller checks that the client is attached to the connection.
func decodeClientRequest(frame []byte) (uint64, []byte, *spec.Request, error) {
	var m ClientMsg // its Body and q's byte strings share the frame's memory, never changed once read
	if err := spec.DecodeShared(frame, &m, MaxClientFrame); err != nil {
		return 0, nil, nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	if m.Kind != ClientRequest {
		return 0, nil, nil, fmt.Errorf("frame is kind %d, want a request (kind %d), a read (kind %d) or an attach (kind %d)", m.Kind, ClientRequest, ClientRead, ClientAttach)
	}
	var q spec.Request
	if err := spec.DecodeShared(m.Body, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		return 0, nil, nil, fmt.Errorf("request body is not a REQUEST: %w", err)
	}
	if q.Body.Client != m.Client {
		return 0, nil, nil, fmt.Errorf("request signed as client %d in a frame for client %d", q.Body.Client, m.Client)
	}
	return m.Client, m.Body, &q, nil
}

// decodeClientAttach decodes an attach frame and returns the client it attaches
// and its signature (not yet verified: the caller holds the binding and the keys).
func decodeClientAttach(frame []byte) (uint64, []byte, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxHelloFrame); err != nil {
		return 0, nil, fmt.Errorf("%d-byte frame is not an attach ClientMsg: %w", len(frame), err)
	}
	if m.Kind != ClientAttach || len(m.Body) != ed25519.SignatureSize {
		return 0, nil, fmt.Errorf("frame is kind %d with a %d-byte body, want an attach (kind %d) with a %d-byte signature", m.Kind, len(m.Body), ClientAttach, ed25519.SignatureSize)
	}
	return m.Client, m.Body, nil
}

// decodeClientPush decodes a frame from a broker to a connection of the clients for
// which member holds: a reply for one of them (whose contents that client's session
// checks and opens) or an epoch change (which the clients verify before they follow
// it). It returns the kind, the addressee (0 for an epoch) and the body.
func decodeClientPush(frame []byte, member func(uint64) bool) (uint64, uint64, []byte, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxBrokerFrame); err != nil {
		return 0, 0, nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	switch {
	case m.Kind == ClientEpoch && m.Client == 0:
		var st spec.Step
		if err := spec.Decode(m.Body, &st, spec.MaxBodyBytes(spec.KindRecovery)); err != nil {
			return 0, 0, nil, fmt.Errorf("epoch body is not a chain step (EPOCH-CHANGE or RECOVERY): %w", err)
		}
		return ClientEpoch, 0, m.Body, nil
	case len(frame) > MaxReplyFrame:
		return 0, 0, nil, fmt.Errorf("%d-byte frame of kind %d exceeds the reply cap %d", len(frame), m.Kind, MaxReplyFrame)
	}
	rep, err := decodeClientReply(&m, member)
	return ClientReply, m.Client, rep, err
}

// decodeClientReply checks a reply frame for a client for which member holds and
// returns the encoded REPLY.
func decodeClientReply(m *ClientMsg, member func(uint64) bool) ([]byte, error) {
	if m.Kind != ClientReply || !member(m.Client) {
		return nil, fmt.Errorf("frame is kind %d for client %d, want a reply (kind %d) for a client of this connection or an epoch (kind %d) for 0", m.Kind, m.Client, ClientReply, ClientEpoch)
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
	if client != m.Client {
		return nil, fmt.Errorf("reply for client %d in a frame for client %d", client, m.Client)
	}
	return m.Body, nil
}

// clientFrameKind returns the kind a client frame claims: enc(ClientMsg) starts with
// the array header 0x83 and then the kind, one byte for kinds below 24 (0 if the
// frame does not start so). The frame is still decoded strictly by its kind's decoder.
func clientFrameKind(frame []byte) uint64 {
	if len(frame) > 2 && frame[0] == 0x83 && frame[1] < 24 {
		return uint64(frame[1])
	}
	return 0
}

// decodeClientRead decodes a read frame and returns the client it is for and the
// encoded READ (SPEC.md §16.6). The caller checks that the client is attached.
func decodeClientRead(frame []byte) (uint64, []byte, error) {
	var m ClientMsg
	if err := spec.Decode(frame, &m, MaxClientFrame); err != nil {
		return 0, nil, fmt.Errorf("%d-byte frame is not a ClientMsg: %w", len(frame), err)
	}
	var r spec.Read
	if m.Kind != ClientRead {
		return 0, nil, fmt.Errorf("frame is kind %d, want a read (kind %d)", m.Kind, ClientRead)
	}
	if err := spec.Decode(m.Body, &r, spec.MaxBodyBytes(spec.KindRead)); err != nil {
		return 0, nil, fmt.Errorf("read body is not a READ: %w", err)
	}
	if r.Client != m.Client {
		return 0, nil, fmt.Errorf("read for client %d in a frame for client %d", r.Client, m.Client)
	}
	return m.Client, m.Body, nil
}
