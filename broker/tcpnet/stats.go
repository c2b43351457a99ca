package tcpnet

import "sync/atomic"

// Stats is a snapshot of a Host's counters. Counters (uint64) are monotonic; gauges
// (bool, int) are current values.
type Stats struct {
	Peers      []PeerStats // index = replica id; Peers[ID] stays zero
	BadHellos  uint64      // authenticated peer connections closed for a bad, missing or late hello
	Refused    uint64      // peer connections closed at accept: too many waiting for hello
	Unroutable uint64      // Send calls for no known peer (own id, or beyond Peers)
	// AuthFailures counts connections (both ports) closed because the TLS handshake
	// failed or the source IP had too many connections not yet authenticated.
	AuthFailures uint64
	Clients      ClientStats
}

// PeerStats are the counters of one peer. "Sent" side counters are about the
// outbound connection this host dials; "received" side ones about the inbound
// connections authenticated as the peer (SPEC §13.2).
type PeerStats struct {
	Addr       string // the configured address
	Sent       uint64 // frames written to the outbound connection
	Dropped    uint64 // frames dropped: queue full or frame over the cap, or lost with a broken connection
	Received   uint64 // frames decoded as PeerMsgs and handed to the replica
	Garbage    uint64 // frames that were not PeerMsgs; each closed its connection
	Throttled  uint64 // frames whose reader waited: the peer had its inbound budget waiting for the event loop
	Connects   uint64 // outbound connections established
	Reconnects uint64 // outbound connections established after an earlier one was lost
	DialErrors uint64 // failed dials (and failed hellos) of the outbound connection
	Queued     int    // frames waiting in the outbound queue
	Connected  bool   // the outbound connection is up
	Inbound    int    // live inbound connections authenticated as this peer
	Readers    int    // reader goroutines of its inbound connections still running (≤ Inbound once a replaced one's ended)
	RelayDrops uint64 // request frames dropped undecoded: the broker had closed its relayed requests
}

// ClientStats are the client front end's counters.
type ClientStats struct {
	Conns    int    // live client connections that said hello
	Accepted uint64 // client connections that said hello
	Refused  uint64 // connections closed at accept: MaxClientConns reached
	Garbage  uint64 // connections closed for a bad hello or a frame that does not decode as its kind
	Attaches uint64 // clients attached to a connection by a verified attach frame
	// AttachRefused counts refused attaches (the connection full, the client not
	// registered, a bad signature); the connection stays open for its other clients.
	AttachRefused uint64
	// Unattached counts requests and reads dropped because their client is not
	// attached to the connection they came on.
	Unattached uint64
	// Revoked counts attachments SetClientKeys dropped: clients it no longer
	// registers with the key they authenticated with (removed, or registered again
	// with another key), and every client of a connection it closed (RevokedConns),
	// which reconnect.
	Revoked uint64
	// RevokedConns counts connections closed because the keys no longer register
	// their hello's client with the key that authenticated the connection (or
	// SetClientKeys left them with no client); their other clients reconnect.
	RevokedConns uint64
	Requests     uint64 // requests handed to the replica
	Replies      uint64 // reply frames queued on client connections
	Written      uint64 // reply and epoch frames written
	ReplyDrops   uint64 // reply frames dropped: that connection's queue was full
	ReplyLost    uint64 // reply and epoch frames lost with a broken connection
	NoConn       uint64 // replies for a client with no live connection
	Epochs       uint64 // epoch frames queued on client connections (one per adopted change per connection)
	EpochDrops   uint64 // epoch frames dropped: that connection's queue was full
}

// peerCounters are the live counters behind PeerStats.
type peerCounters struct {
	sent, dropped, received, garbage atomic.Uint64
	throttled                        atomic.Uint64
	connects, reconnects, dialErrors atomic.Uint64
	connected                        atomic.Bool
	inbound, readers                 atomic.Int64
	relayDrops                       atomic.Uint64
}

func (c *peerCounters) snapshot(addr string, q *queue) PeerStats {
	s := PeerStats{Addr: addr,
		Sent: c.sent.Load(), Dropped: c.dropped.Load(), Received: c.received.Load(), Garbage: c.garbage.Load(),
		Throttled: c.throttled.Load(),
		Connects:  c.connects.Load(), Reconnects: c.reconnects.Load(), DialErrors: c.dialErrors.Load(),
		Connected: c.connected.Load(), Inbound: int(c.inbound.Load()), Readers: int(c.readers.Load()),
		RelayDrops: c.relayDrops.Load()}
	if q != nil {
		s.Queued = q.len()
	}
	return s
}

// hostCounters are the live counters of a Host outside any one peer.
type hostCounters struct {
	badHellos, refused, unroutable atomic.Uint64
	authFailures                   atomic.Uint64
	clientConns                    atomic.Int64
	clientAccepted, clientRefused  atomic.Uint64
	clientGarbage, clientRequests  atomic.Uint64
	clientAttaches, attachRefused  atomic.Uint64
	clientUnattached               atomic.Uint64
	revoked, revokedConns          atomic.Uint64
	replies, replyDrops, noConn    atomic.Uint64
	repliesWritten, replyLost      atomic.Uint64
	epochs, epochDrops             atomic.Uint64
}

func (c *hostCounters) clientStats() ClientStats {
	return ClientStats{Conns: int(c.clientConns.Load()), Accepted: c.clientAccepted.Load(),
		Refused: c.clientRefused.Load(), Garbage: c.clientGarbage.Load(), Attaches: c.clientAttaches.Load(),
		AttachRefused: c.attachRefused.Load(), Unattached: c.clientUnattached.Load(),
		Revoked: c.revoked.Load(), RevokedConns: c.revokedConns.Load(), Requests: c.clientRequests.Load(),
		Replies: c.replies.Load(), Written: c.repliesWritten.Load(), ReplyDrops: c.replyDrops.Load(),
		ReplyLost: c.replyLost.Load(), NoConn: c.noConn.Load(), Epochs: c.epochs.Load(), EpochDrops: c.epochDrops.Load()}
}
