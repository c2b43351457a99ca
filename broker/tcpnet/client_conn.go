package tcpnet

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/internal/rawio/rawnet"
	"github.com/splitbft/splitbft/spec"
)

// ClientConn is one client's side of the front end. The connections are those of
// its DialClients call, shared by every client of the call: one TCP connection per
// replica's broker, each redialled with back-off when it fails, authenticated as one
// client of the call and carrying the others by attach frames (SPEC §13.2), so that
// the requests and replies of many clients share system calls and TLS records. It
// implements client.Transport and client.Broadcaster, and is safe for concurrent
// use. Nothing a broker sends is trusted: a frame that is neither a reply for one of
// the connection's clients nor an epoch change closes that connection, the client's
// session checks and opens every reply itself, and the client follows a pushed epoch
// change only if it verifies.
type ClientConn struct {
	id      uint64
	key     ed25519.PrivateKey
	mux     *clientMux
	replies chan []byte  // closed by Close
	inbox   replyBudget  // the bytes waiting in replies
	budget  int          // the bound of inbox: this client's share of RepliesBytes
	epochs  chan []byte  // pushed epoch changes (SPEC §13.2 kind 5); never closed
	pref    atomic.Int64 // the replica Send targets; Broadcast (a retransmission) moves it to the next
	closed  atomic.Bool

	delivered, replyDrops atomic.Uint64
	epochIn, epochDrops   atomic.Uint64
}

// ClientIdentity is one client of a DialClients call: its id and registered signing
// key (nil when Insecure).
type ClientIdentity struct {
	ID  uint64
	Key ed25519.PrivateKey
}

// clientMux is the connections of one DialClients call, shared by its clients.
type clientMux struct {
	opt     ClientOptions
	certs   []tls.Certificate // per member, the certificate it authenticates with; nil when Insecure
	links   []*clientLink     // index = replica id
	members []*ClientConn     // the clients; each link's hello member says hello, the others attach
	byID    map[uint64]*ClientConn

	up     chan struct{} // closed once the first connection is up
	upOnce sync.Once

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	open     atomic.Int64 // members not closed; the last Close stops the connections
	stopOnce sync.Once

	dropped, garbage atomic.Uint64
}

// clientLink is the connection to one replica's front end.
type clientLink struct {
	idx       int
	addr      string
	q         *queue // request frames waiting to be written
	bo        *backoff
	hello     int                      // the member that authenticates the next connection; moves on at every failure; the link's goroutine only
	cur       atomic.Pointer[linkConn] // the live connection's binding and hello member; nil while down
	connected atomic.Bool

	sent, connects, reconnects, dialErrors atomic.Uint64
}

// linkConn is what Broadcast needs of a link's live connection to attach a client
// to it again.
type linkConn struct {
	binding [32]byte
}

// ClientConnStats are a ClientConn's counters (all monotonic but Connected). The
// connection counters (Connected, Sent, Dropped, Garbage, Connects, Reconnects,
// DialErrors) are those of the connections the client shares with the other clients
// of its DialClients call.
type ClientConnStats struct {
	Connected  int    // replicas with a live connection now
	Sent       uint64 // frames written (requests, reads and attaches of every client of the call)
	Dropped    uint64 // such frames dropped: queue full, or lost with a broken connection
	Replies    uint64 // replies delivered on Replies
	ReplyDrops uint64 // replies dropped because Replies was full
	Garbage    uint64 // connections closed because a broker sent something other than a reply for one of their clients or an epoch
	Connects   uint64 // connections established
	Reconnects uint64 // connections established after an earlier one to the same replica was lost
	DialErrors uint64 // failed dials
	Epochs     uint64 // epoch changes delivered on EpochChanges (unverified: the client checks them)
	EpochDrops uint64 // epoch changes dropped because EpochChanges was full
}

// linkQueueBytes bounds the request bytes waiting for one replica.
const linkQueueBytes = 64 << 20

// epochsPerLink bounds the pushed epoch changes waiting for the client, per replica.
const epochsPerLink = 2

// MaxClientsPerDial is the most clients one DialClients call carries: the default
// of the brokers' Options.MaxClientsPerConn.
const MaxClientsPerDial = 256

// DialClient connects client clientID, authenticated by opt.Key, to the front ends
// at addrs (index = replica id) and returns once one connection is up, or fails when
// ctx ends first. The connections then live, and are redialled as needed, until
// Close: ctx bounds only the wait.
func DialClient(ctx context.Context, addrs []string, clientID uint64, opt ClientOptions) (*ClientConn, error) {
	cs, err := DialClients(ctx, addrs, []ClientIdentity{{ID: clientID, Key: opt.Key}}, opt)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// DialClients connects several clients over shared connections, one per front end
// (SPEC §13.2, attach), and returns a ClientConn for each, in the order of ids, once
// one connection is up; it fails when ctx ends first. opt.Key is ignored: each client
// signs with its own. The connections live until every returned ClientConn is
// closed. Each client gets an equal share of RepliesBytes for the replies waiting
// for it, split equally among the replicas, and one reply of each replica is always
// admitted when none of that replica's waits: so the call holds at most
// RepliesBytes of replies, plus one per client and replica.
// A replica's link queues at most QueueLen frames and 64 MiB per client of the call. A connection is
// authenticated by one client (the first; after a failed or lost connection the
// next, so that a client the cluster no longer registers does not keep the others
// out) and the others attach to it.
func DialClients(ctx context.Context, addrs []string, ids []ClientIdentity, opt ClientOptions) ([]*ClientConn, error) {
	switch {
	case len(addrs) == 0:
		return nil, errors.New("tcpnet: DialClients: no addresses")
	case len(ids) == 0 || len(ids) > MaxClientsPerDial:
		return nil, fmt.Errorf("tcpnet: DialClients: %d clients, want 1..%d per call", len(ids), MaxClientsPerDial)
	}
	opt = opt.withDefaults()
	m := &clientMux{opt: opt, byID: map[uint64]*ClientConn{}, up: make(chan struct{})}
	for _, id := range ids {
		if m.byID[id.ID] != nil {
			return nil, fmt.Errorf("tcpnet: DialClients: client %d given twice", id.ID)
		}
		if !opt.Insecure && len(id.Key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("tcpnet: DialClients: client %d: key is %d bytes, want %d", id.ID, len(id.Key), ed25519.PrivateKeySize)
		}
		c := &ClientConn{id: id.ID, key: id.Key, mux: m, replies: make(chan []byte, opt.RepliesLen),
			budget: opt.RepliesBytes / len(ids), epochs: make(chan []byte, epochsPerLink*len(addrs))}
		m.members = append(m.members, c)
		m.byID[id.ID] = c
	}
	m.open.Store(int64(len(ids)))
	if err := m.initAuth(len(addrs)); err != nil {
		return nil, err
	}
	for i, a := range addrs {
		bo, err := newBackoff(opt.MinBackoff, opt.MaxBackoff, opt.Rand)
		if err != nil {
			return nil, err
		}
		m.links = append(m.links, &clientLink{idx: i, addr: a, q: newQueue(opt.QueueLen*len(ids), linkQueueBytes*len(ids)), bo: bo})
	}
	lctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	for _, l := range m.links {
		goroutine(&m.wg, func() { m.run(lctx, l) })
	}
	select {
	case <-m.up:
		return m.members, nil
	case <-ctx.Done():
		m.stop()
		return nil, fmt.Errorf("tcpnet: client %d: no front end reachable at %v: %w", ids[0].ID, addrs, ctx.Err())
	}
}

// Send queues an encoded REQUEST for one replica: the preferred one if its
// connection is up, else the next one up after it (or it, when none is). The
// preference starts at replica 0 and stays while the client's requests complete;
// only Broadcast, a retransmission, moves it on (SPEC §13.2, client port). Replies
// never move it: a faulty replica that replied last (or sent any reply frame) must
// not draw the client's requests to itself and drop them, costing the client a
// retransmission timeout per request. It never blocks; a full queue drops the
// request (the client retransmits).
func (c *ClientConn) Send(req []byte) error {
	f, err := c.frame(req)
	if err != nil {
		return err
	}
	c.mux.push(c.mux.links[c.target()], f)
	return nil
}

// Broadcast queues an encoded REQUEST for every replica. It is a retransmission
// (the request Send queued was not answered in time), so it also moves Send's
// preference to the next replica: the one that did not get the request done loses
// it, and a faulty replica holds a client for at most one retransmission timeout
// per round of the replicas. Before the request it attaches the client again to
// every live connection: a broker that refused its attach (an epoch it had not
// adopted yet registers the client) or detached it (the client's own newer
// connections) drops its requests, and an attach of a client already attached
// costs the broker nothing.
func (c *ClientConn) Broadcast(req []byte) error {
	f, err := c.frame(req)
	if err != nil {
		return err
	}
	for _, l := range c.mux.links {
		c.reattach(l)
		c.mux.push(l, f)
	}
	old := c.pref.Load()
	c.pref.CompareAndSwap(old, (old+1)%int64(len(c.mux.links)))
	return nil
}

// reattach queues c's attach for l's live connection, if it has one and carries
// other clients too (a connection of one client closes when it loses it).
func (c *ClientConn) reattach(l *clientLink) {
	if lc := l.cur.Load(); lc != nil && len(c.mux.members) > 1 {
		c.mux.push(l, c.attachFrame(lc.binding))
	}
}

// SendRead queues an encoded READ (SPEC.md §16.6) for every replica, attaching the
// client again to every live connection first, as Broadcast does.
func (c *ClientConn) SendRead(read []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	f := spec.Encode(&ClientMsg{Kind: ClientRead, Client: c.id, Body: read})
	if len(f) > MaxClientFrame {
		return fmt.Errorf("tcpnet: %d-byte read frame exceeds the cap %d", len(f), MaxClientFrame)
	}
	for _, l := range c.mux.links {
		c.reattach(l) // a read must reach every replica's exec: see Broadcast
		c.mux.push(l, f)
	}
	return nil
}

// Replies returns the channel of encoded REPLYs received for this client from any
// replica. It is closed by Close.
func (c *ClientConn) Replies() <-chan []byte { return c.replies }

// EpochChanges returns the channel of epoch changes the brokers pushed (SPEC §13.2,
// kind 5), each a chain step (an epoch change or a recovery) as received and not verified: the client
// follows one only if it verifies from the configuration it holds (SPEC §17.7). It
// implements client.EpochSource; a full channel drops (the client then learns the
// epoch at its next retransmission).
func (c *ClientConn) EpochChanges() <-chan []byte { return c.epochs }

// Close closes Replies; later Send and Broadcast calls fail with ErrClosed. The
// Close of the last client of a DialClients call also closes every connection and
// waits for the connection goroutines.
func (c *ClientConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.inbox.close(c.replies)
	if c.mux.open.Add(-1) == 0 {
		c.mux.stop()
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (c *ClientConn) Stats() ClientConnStats {
	m := c.mux
	s := ClientConnStats{Dropped: m.dropped.Load(), Replies: c.delivered.Load(),
		ReplyDrops: c.replyDrops.Load(), Garbage: m.garbage.Load(), Epochs: c.epochIn.Load(), EpochDrops: c.epochDrops.Load()}
	for _, l := range m.links {
		if l.connected.Load() {
			s.Connected++
		}
		s.Sent += l.sent.Load()
		s.Connects += l.connects.Load()
		s.Reconnects += l.reconnects.Load()
		s.DialErrors += l.dialErrors.Load()
	}
	return s
}

// frame wraps a REQUEST in a request ClientMsg.
func (c *ClientConn) frame(req []byte) ([]byte, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	f := encodeClientMsg(ClientRequest, c.id, req)
	if len(f) > MaxClientFrame {
		return nil, fmt.Errorf("tcpnet: %d-byte request frame exceeds the cap %d", len(f), MaxClientFrame)
	}
	return f, nil
}

// target picks the replica for Send.
func (c *ClientConn) target() int {
	links := c.mux.links
	n := len(links)
	start := int(c.pref.Load())
	for k := range n {
		if i := (start + k) % n; links[i].connected.Load() {
			return i
		}
	}
	return start
}

func (m *clientMux) push(l *clientLink, f []byte) {
	if !l.q.push(f) {
		m.dropped.Add(1)
	}
}

// stop closes every connection and waits for the connection goroutines.
func (m *clientMux) stop() {
	m.stopOnce.Do(func() {
		m.cancel()
		m.wg.Wait()
	})
}

// member reports whether id is a client of m.
func (m *clientMux) member(id uint64) bool { return m.byID[id] != nil }

// run keeps l's connection up until ctx ends.
func (m *clientMux) run(ctx context.Context, l *clientLink) {
	log := m.opt.Logger.With("clients", len(m.members), "replica", l.idx, "addr", l.addr)
	lost := false
	for ctx.Err() == nil {
		conn, err := m.connect(ctx, l)
		if err != nil {
			m.nextHello(l)
			l.dialErrors.Add(1)
			log.Debug("tcpnet: cannot reach front end", "err", err)
			if !l.bo.wait(ctx) {
				return
			}
			continue
		}
		start := time.Now()
		l.connects.Add(1)
		if lost {
			l.reconnects.Add(1)
		}
		l.connected.Store(true)
		m.upOnce.Do(func() { close(m.up) })
		err = m.serve(ctx, conn, l, log.With("client", m.members[l.hello].id))
		l.cur.Store(nil)
		m.nextHello(l)
		l.bo.ended(time.Since(start))
		l.connected.Store(false)
		lost = true
		if ctx.Err() != nil {
			return
		}
		log.Warn("tcpnet: lost the connection to front end; reconnecting", "err", err)
		if !l.bo.wait(ctx) {
			return
		}
	}
}

// nextHello moves l's hello to the next member not closed (after a failed or lost
// connection: a client the cluster no longer registers must not keep the others
// out).
func (m *clientMux) nextHello(l *clientLink) {
	for range m.members {
		l.hello = (l.hello + 1) % len(m.members)
		if !m.members[l.hello].closed.Load() {
			return
		}
	}
}

// attachFrame is the body of c's attach frame for a connection of binding b (SPEC
// §13.2), without its length prefix.
func (c *ClientConn) attachFrame(b [32]byte) []byte {
	sig := make([]byte, ed25519.SignatureSize)
	if c.key != nil {
		sig = ed25519.Sign(c.key, AttachSignedBytes(b, c.id))
	}
	return encodeClientMsg(ClientAttach, c.id, sig)
}

// connect dials l, authenticates both ends (TLS pinned to the replica's transport
// key, the registered key of member l.hello; SPEC §13.2) and sends the hello, then
// an attach for every other client not closed, signed over the connection's binding.
func (m *clientMux) connect(ctx context.Context, l *clientLink) (net.Conn, error) {
	d := net.Dialer{Timeout: m.opt.WriteTimeout}
	raw, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, err
	}
	raw = rawnet.Conn(raw)
	conn := raw
	first := m.members[l.hello]
	if m.certs != nil {
		raw.SetDeadline(time.Now().Add(m.opt.WriteTimeout))
		if conn, _, err = handshake(ctx, raw, dialerTLS(m.certs[l.hello], m.opt.ServerKeys[l.idx]), false); err != nil {
			raw.Close()
			return nil, err
		}
		raw.SetDeadline(time.Time{})
	}
	binding, err := connBinding(conn, m.opt.Insecure)
	if err != nil {
		conn.Close()
		return nil, err
	}
	out := appendFrame(spec.Encode(&ClientMsg{Kind: ClientHello, Client: first.id, Body: []byte(ClientProto)}))
	for _, c := range m.members {
		if c == first || c.closed.Load() {
			continue
		}
		out = append(out, appendFrame(c.attachFrame(binding))...)
	}
	conn.SetWriteDeadline(time.Now().Add(m.opt.WriteTimeout))
	if _, err := conn.Write(out); err != nil {
		conn.Close()
		return nil, err
	}
	l.cur.Store(&linkConn{binding: binding})
	return conn, nil
}

// serve writes l's queued requests and reads replies on conn until either fails or
// ctx ends, and closes conn.
func (m *clientMux) serve(ctx context.Context, conn net.Conn, l *clientLink, log *slog.Logger) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	readDone := make(chan struct{})
	var rerr error
	go func() { // joined below
		defer close(readDone)
		rerr = m.readReplies(conn, l, log)
		conn.Close()
	}()
	err := pump(ctx, conn, l.q, m.opt.WriteTimeout, true, readDone, &l.sent, &m.dropped)
	conn.Close()
	<-readDone
	if errors.Is(err, errStopped) {
		err = rerr
	}
	return err
}

// readReplies reads frames from a connection until it fails, handing each REPLY to
// its client's Replies and each epoch change to every client's EpochChanges
// (dropping where a channel is full). Garbage ends it.
func (m *clientMux) readReplies(conn net.Conn, l *clientLink, log *slog.Logger) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		frame, err := readFrame(r, MaxBrokerFrame)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			return err
		}
		var kind, to uint64
		var body []byte
		if err == nil {
			kind, to, body, err = decodeClientPush(frame, m.member)
		}
		if err != nil {
			m.garbage.Add(1)
			log.Error("tcpnet: garbage from front end; closing the connection", "err", err)
			return err
		}
		if kind == ClientEpoch {
			for _, c := range m.members {
				if !c.closed.Load() {
					deliver(c.epochs, body, &c.epochIn, &c.epochDrops)
				}
			}
		} else {
			c := m.byID[to]
			c.inbox.deliver(c.replies, body, l.idx, len(m.links), c.budget, &c.delivered, &c.replyDrops)
		}
	}
}

// deliver hands b to ch without blocking, counting it as delivered or dropped. It
// counts a delivery before it is made (and takes it back on a drop), so that a
// receiver that got b sees it counted. It reports whether b was delivered.
func deliver(ch chan<- []byte, b []byte, delivered, dropped *atomic.Uint64) bool {
	delivered.Add(1)
	select {
	case ch <- b:
		return true
	default:
		delivered.Add(^uint64(0))
		dropped.Add(1)
		return false
	}
}

// replyBudget bounds the bytes of the replies waiting in a channel that the
// receiver drains without telling, per source (the replica whose connection
// delivered them): the sizes and sources of the replies delivered, oldest first;
// those beyond the channel's length were taken (a channel is FIFO, and only
// deliver, under mu, adds to it).
type replyBudget struct {
	mu      sync.Mutex
	waiting []waitingReply
	bytes   []int // per source
	closed  bool  // the channel is closed: deliver drops
}

type waitingReply struct{ size, src int }

// close closes ch, the channel rb bounds, so that no later deliver sends on it.
func (rb *replyBudget) close(ch chan []byte) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.closed = true
	close(ch)
}

// deliver hands b, from source src of nsrc, to ch as the package's deliver does,
// unless the replies of src waiting would then hold more than max/nsrc bytes (one
// of each source is always admitted when none of it waits). So a faulty replica
// filling its share never crowds out a correct one's reply, and the replies waiting
// hold at most max plus one reply per source. It reports whether b was delivered.
func (rb *replyBudget) deliver(ch chan []byte, b []byte, src, nsrc, max int, delivered, dropped *atomic.Uint64) bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.closed {
		dropped.Add(1)
		return false
	}
	if len(rb.bytes) < nsrc {
		rb.bytes = append(rb.bytes, make([]int, nsrc-len(rb.bytes))...)
	}
	for len(rb.waiting) > len(ch) {
		w := rb.waiting[0]
		rb.bytes[w.src] -= w.size
		rb.waiting = rb.waiting[1:]
	}
	if rb.bytes[src] > 0 && rb.bytes[src]+len(b) > max/nsrc {
		dropped.Add(1)
		return false
	}
	if !deliver(ch, b, delivered, dropped) {
		return false
	}
	rb.waiting = append(rb.waiting, waitingReply{len(b), src})
	rb.bytes[src] += len(b)
	return true
}

// initAuth checks the keys of the options and makes each member's certificate,
// with which it authenticates a connection it says hello on.
func (m *clientMux) initAuth(n int) error {
	if m.opt.Insecure {
		m.opt.Logger.Warn("tcpnet: INSECURE TRANSPORT: plain TCP to the front ends, no authentication")
		return nil
	}
	if len(m.opt.ServerKeys) != n {
		return fmt.Errorf("tcpnet: DialClients: %d transport keys for %d addresses", len(m.opt.ServerKeys), n)
	}
	for _, c := range m.members {
		cert, err := selfSigned(c.key)
		if err != nil {
			return err
		}
		m.certs = append(m.certs, cert)
	}
	return nil
}
