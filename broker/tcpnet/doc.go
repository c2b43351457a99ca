// Package tcpnet runs one SplitBFT replica's broker over TCP, as an operator deploys
// it: a Host owns the broker.Replica on one event-loop goroutine, links it to the
// other replicas' brokers, and serves clients on a front end port; ClientConn is the
// client side of that front end.
//
// Trust: UNTRUSTED host code (part of the broker, SPEC.md §13). It trusts nothing it
// receives: every protocol message is signed and verified by the compartments, and
// replies are sealed for their client. Its one key, the broker's transport key, is a
// liveness identity: every connection is TLS 1.3 with mutual authentication by
// Ed25519 keys pinned to the cluster (tlsauth.go): a broker by its transport key, a
// client by its registered signing key. So no one outside the cluster can claim a
// replica's or a client's id: hints, fetches and relayed requests are attributed to
// the authenticated broker, and replies go only to connections of their client
// (authenticated by its key, or attached by its signature). An
// unauthenticated connection gets nothing and costs a bounded amount: a handshake
// deadline, a cap on waiting connections per source IP and in all, and an accept rate
// per source IP (limits.go). Every frame is decoded strictly before it reaches the
// replica, and a connection that sends anything else is logged, counted and closed.
// Options.Insecure (plain TCP, no authentication) exists only to measure the cost.
//
// # Host duties
//
//  1. Listen binds the peer port and the client port; Net is given to
//     broker.NewReplica; Run drives the replica until its context ends.
//  2. The event loop alone calls the replica: HandlePeer and HandleClient for each
//     frame (posted as closures by the connection readers, who wait while the loop is
//     busy or their peer is over its inbound budget, pushing back on TCP; each peer's
//     in its own queue, served round-robin), Tick every Options.Tick, and Flush after
//     each burst.
//  3. Send queues a frame on the peer's bounded outbound queue and Reply on each of
//     the client's connections' bounded queues; a full queue drops and counts.
//  4. Each host dials every peer and sends only on that outbound connection,
//     redialling with jittered exponential back-off; it receives only on the
//     connections other hosts dial to it.
//
// # Framing
//
// Both ports carry frames: u32 length (big-endian) || body, 1 ≤ length ≤ cap. A
// length of 0 or over the cap closes the connection (the stream cannot be
// resynchronised). Every body is canonical CBOR (SPEC.md §2) decoded strictly with the
// round-trip gate. The first frame of a connection (its hello) has the cap
// MaxHelloFrame (128 bytes) and must arrive within Options.HelloTimeout.
//
// # Peer port (SPEC.md §13.2)
//
//	hello   PeerHello{Proto: "splitbft/v1/peer", Replica: the dialer's id}
//	then    enc(broker.PeerMsg{Kind, Body}), cap MaxPeerFrame = 48 MiB + 64
//
// The dialer only writes; the acceptor only reads. The hello's id (< n, not the
// acceptor's own) must be the replica whose transport key authenticated the
// connection; it is the `from` of Replica.HandlePeer. At most two inbound connections
// per peer are kept (a reconnecting peer's new connection may overlap its stale one);
// a third closes the oldest (only that peer can open one). A frame that is not a PeerMsg whose Body decodes as
// its Kind (broker.DecodePeer) closes the connection with an error log naming the
// remote address and the claimed id; the dialer may reconnect.
//
// # Client port
//
// Every frame is enc(ClientMsg{Kind, Client, Body}), a CBOR array of an unsigned
// integer, an unsigned integer and a byte string:
//
//	Kind 1 hello    client → broker, first frame only, cap 128 bytes:
//	                Client = the client's id, Body = "splitbft/v1/client"
//	Kind 2 request  client → broker, cap MaxClientFrame (a §2.4 request + 64):
//	                Client = a client of the connection, Body = enc(spec.Request)
//	                with Body.Client == Client
//	Kind 3 reply    broker → client, cap MaxReplyFrame (a §2.4 reply + 64):
//	                Client = the addressee, Body = enc(spec.Reply) (one per
//	                request, all its results) or enc(spec.ReadReply) as exec
//	                emitted it
//	Kind 4 read     client → broker, cap MaxClientFrame: Client = a client of the
//	                connection, Body = enc(spec.Read) with Client == Client, for the broker's
//	                own exec (Replica.HandleRead; SPEC.md §16.6)
//	Kind 5 epoch    broker → client, cap MaxEpochFrame (the epoch-change cap + 64):
//	                Client = 0, Body = the chain step (enc(spec.EpochChange), or
//	                enc(spec.Recovery) after a whole-cluster recovery, SPEC.md §17.8)
//	                exactly as the broker adopted it; pushed once per adopted step to
//	                every live client connection (broker.EpochNet), dropped when that
//	                connection's queue is full. The client verifies it (EC1–EC4 or
//	                RC1–RC5) before following.
//	Kind 6 attach   client → broker, cap 128 bytes: Client = the client to attach,
//	                Body = its Ed25519 signature over AttachSignedBytes(B, Client),
//	                B the connection's TLS exporter value (AttachBindingLabel)
//
// The broker hands each request to Replica.HandleClientDecoded, which applies R1–R4
// (and R5 when SPEC.md §13.3 obligation 5 asks for it on arrival) and starts the timer or forwards it; replies for a client id go to every live
// connection that client is attached to (at most Options.MaxConnsPerClient; a newer
// one detaches it from another, preferably one that carries it alone, which closes
// when no client is left on it). A frame that does not decode strictly as its kind
// closes the connection with an error log; a request or read for a client not
// attached, and a refused attach (the connection is full, the client is not
// registered, or its signature fails), are dropped and counted. The hello's client
// id must be the one whose registered key authenticated the connection; an attach
// adds a client that proves its key over the connection's binding (at most
// Options.MaxClientsPerConn clients per connection; verifications rate limited per
// authenticated client by AttachRate and AttachBurst, and for the host by
// HostAttachRate and HostAttachBurst, the reader waiting for a token).
// The clients of one DialClients call share one connection per replica (one of them
// says hello, the next one after a failed connection; the others attach, again at
// each retransmission); each sends a request to one replica (the same one until a
// retransmission moves it on) and retransmits to all; a broker frame that is neither a reply for one of the
// connection's clients nor an epoch closes that connection.
package tcpnet
