package tcpnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"time"
)

// Options configures a Host. Zero values take defaults.
type Options struct {
	ID           uint64        // this replica's id
	Listen       string        // peer listen address ("127.0.0.1:0" allowed); required
	Peers        []string      // peer addresses, index = replica id (Peers[ID] unused); or SetPeers later
	ClientListen string        // client front end listen address; "" = no client port
	QueueLen     int           // frames per peer outbound queue; default 4096; full → drop + count
	Tick         time.Duration // broker.Replica.Tick period; default 10ms

	MinBackoff, MaxBackoff time.Duration // reconnection back-off; defaults 50ms, 2s
	Logger                 *slog.Logger  // default: discard

	QueueBytes     int           // bytes per peer outbound queue; default 256 MiB; over → drop + count
	ClientQueueLen int           // reply frames per client connection and client attached to it; default 1024; full → drop + count
	MaxClientConns int           // client connections at once (including before hello); default 1024
	InboxLen       int           // client requests (and, apart, queries) waiting for the event loop; default 4096 (readers then wait); peers have PeerInLen each
	PeerInLen      int           // messages of one peer waiting for the event loop; default 1024 (its readers then wait)
	PeerInBytes    int           // … and their frame bytes; default 64 MiB (one message always fits)
	PeerFrameRate  int           // frames per second read from one peer (and at once); default 50000 (its readers then sleep)
	WriteTimeout   time.Duration // a blocked write closes its connection after this (or half of it: lazyDeadline); default 10s
	HelloTimeout   time.Duration // an accepted connection must say hello within this; default 5s
	Rand           io.Reader     // seeds the back-off jitter; default crypto/rand

	// Authentication (SPEC §13.2). Both ports speak TLS 1.3 with keys pinned to the
	// cluster: Key is this broker's transport key, PeerKeys the brokers' transport
	// public keys (index = replica id, PeerKeys[ID] == Key's public key), ClientKeys
	// the registered clients' signing keys (a client authenticates with its own).
	Key        ed25519.PrivateKey
	PeerKeys   []ed25519.PublicKey
	ClientKeys map[uint64]ed25519.PublicKey
	// Insecure runs both ports over plain TCP with no authentication: anyone can then
	// claim any replica or client id. For measuring the transport's cost only.
	Insecure bool

	IdleTimeout       time.Duration // a connection that delivers no complete frame for this long (or half of it: lazyDeadline) is closed; default 5m
	MaxPendingPerIP   int           // connections from one IP not yet authenticated, per port; default 16
	AcceptRate        int           // new connections accepted per second per IP and port; default 10
	AcceptBurst       int           // … and at once after a quiet spell; default 64
	MaxConnsPerClient int           // live connections of one client, authenticated or attached; more detach it from the oldest; default 4
	MaxClientsPerConn int           // clients one connection may carry (its hello's and attached ones); further attaches are refused; default 256
	AttachRate        int           // attaches verified per second for the connections of one authenticated client (its readers then wait); default 64
	AttachBurst       int           // … and at once after a quiet spell; default 256
	HostAttachRate    int           // attaches verified per second by the host in all (readers then wait); default 1024
	HostAttachBurst   int           // … and at once after a quiet spell; default 8192
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueLen, 4096)
	def(&o.QueueBytes, 256<<20)
	def(&o.ClientQueueLen, 1024)
	def(&o.MaxClientConns, 1024)
	def(&o.InboxLen, 4096)
	def(&o.PeerInLen, 1024)
	def(&o.PeerInBytes, 64<<20)
	def(&o.PeerFrameRate, 50000)
	defDur(&o.Tick, 10*time.Millisecond)
	defDur(&o.MinBackoff, 50*time.Millisecond)
	defDur(&o.MaxBackoff, 2*time.Second)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	defDur(&o.WriteTimeout, 10*time.Second)
	defDur(&o.HelloTimeout, 5*time.Second)
	defDur(&o.IdleTimeout, 5*time.Minute)
	def(&o.MaxPendingPerIP, 16)
	def(&o.AcceptRate, 10)
	def(&o.AcceptBurst, 64)
	def(&o.MaxConnsPerClient, 4)
	def(&o.MaxClientsPerConn, 256)
	def(&o.AttachRate, 64)
	def(&o.AttachBurst, 256)
	def(&o.HostAttachRate, 1024)
	def(&o.HostAttachBurst, 8192)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// ClientOptions configures a ClientConn. Zero values take defaults.
type ClientOptions struct {
	QueueLen   int // request frames waiting per replica connection and client of it; default 256; full → drop + count
	RepliesLen int // replies waiting to be read from Replies; default 4096; full → drop + count
	// RepliesBytes bounds the bytes of those replies (a reply may hold a whole
	// request's results, up to MaxReplyFrame); default 64 MiB; one reply is always
	// admitted when none waits. The clients of one DialClients call share it
	// equally, and each client's share is split equally among the replicas, one
	// reply of a replica always admitted when none of its waits.
	RepliesBytes int

	MinBackoff, MaxBackoff time.Duration // reconnection back-off; defaults 50ms, 2s
	WriteTimeout           time.Duration // a blocked write closes its connection after this (or half of it: lazyDeadline); default 10s
	Logger                 *slog.Logger  // default: discard
	Rand                   io.Reader     // seeds the back-off jitter; default crypto/rand

	// Key is the client's registered signing key, with which it authenticates
	// (SPEC §13.2); ServerKeys are the brokers' transport public keys, index =
	// replica id. Both are required unless Insecure (plain TCP, measurements only).
	Key        ed25519.PrivateKey
	ServerKeys []ed25519.PublicKey
	Insecure   bool
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.RepliesLen <= 0 {
		o.RepliesLen = 4096
	}
	if o.RepliesBytes <= 0 {
		o.RepliesBytes = 64 << 20
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}
