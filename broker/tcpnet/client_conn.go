package tcpnet

import (
	"bufio"
	"context"
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

// ClientConn is a client's side of the front end: one TCP connection per replica's
// broker, each redialled with back-off when it fails. It implements
// client.Transport and client.Broadcaster, and is safe for concurrent use. Nothing a
// broker sends is trusted: a frame that is neither a reply for this client nor an
// epoch change closes that connection, the client's session checks and opens every
// reply itself, and the client follows a pushed epoch change only if it verifies.
type ClientConn struct {
	id      uint64
	opt     ClientOptions
	tls     []*tls.Config // per replica, pinned to its transport key; nil when Insecure
	links   []*clientLink // index = replica id
	replies chan []byte   // closed by Close, after every goroutine ended
	inbox   replyBudget   // the bytes waiting in replies
	epochs  chan []byte   // pushed epoch changes (SPEC §13.2 kind 5); never closed
	pref    atomic.Int64  // the replica Send targets; Broadcast (a retransmission) moves it to the next

	up     chan struct{} // closed once the first connection is up
	upOnce sync.Once

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once

	dropped, delivered, replyDrops, garbage atomic.Uint64
	epochIn, epochDrops                     atomic.Uint64
}

// clientLink is the connection to one replica's front end.
type clientLink struct {
	idx       int
	addr      string
	q         *queue // request frames waiting to be written
	bo        *backoff
	connected atomic.Bool

	sent, connects, reconnects, dialErrors atomic.Uint64
}

// ClientConnStats are a ClientConn's counters (all monotonic but Connected).
type ClientConnStats struct {
	Connected  int    // replicas with a live connection now
	Sent       uint64 // request frames written
	Dropped    uint64 // request frames dropped: queue full, or lost with a broken connection
	Replies    uint64 // replies delivered on Replies
	ReplyDrops uint64 // replies dropped because Replies was full
	Garbage    uint64 // connections closed because a broker sent something other than a reply for us
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

// DialClient connects client clientID to the front ends at addrs (index = replica
// id) and returns once one connection is up, or fails when ctx ends first. The
// connections then live, and are redialled as needed, until Close: ctx bounds only
// the wait.
func DialClient(ctx context.Context, addrs []string, clientID uint64, opt ClientOptions) (*ClientConn, error) {
	if len(addrs) == 0 {
		return nil, errors.New("tcpnet: DialClient: no addresses")
	}
	opt = opt.withDefaults()
	c := &ClientConn{id: clientID, opt: opt, replies: make(chan []byte, opt.RepliesLen), up: make(chan struct{}),
		epochs: make(chan []byte, epochsPerLink*len(addrs))}
	if err := c.initAuth(len(addrs)); err != nil {
		return nil, err
	}
	for i, a := range addrs {
		bo, err := newBackoff(opt.MinBackoff, opt.MaxBackoff, opt.Rand)
		if err != nil {
			return nil, err
		}
		c.links = append(c.links, &clientLink{idx: i, addr: a, q: newQueue(opt.QueueLen, linkQueueBytes), bo: bo})
	}
	lctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for _, l := range c.links {
		goroutine(&c.wg, func() { c.run(lctx, l) })
	}
	select {
	case <-c.up:
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("tcpnet: client %d: no front end reachable at %v: %w", clientID, addrs, ctx.Err())
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
	c.push(c.links[c.target()], f)
	return nil
}

// Broadcast queues an encoded REQUEST for every replica. It is a retransmission
// (the request Send queued was not answered in time), so it also moves Send's
// preference to the next replica: the one that did not get the request done loses
// it, and a faulty replica holds a client for at most one retransmission timeout
// per round of the replicas.
func (c *ClientConn) Broadcast(req []byte) error {
	f, err := c.frame(req)
	if err != nil {
		return err
	}
	for _, l := range c.links {
		c.push(l, f)
	}
	old := c.pref.Load()
	c.pref.CompareAndSwap(old, (old+1)%int64(len(c.links)))
	return nil
}

// SendRead queues an encoded READ (SPEC.md §16.6) for every replica.
func (c *ClientConn) SendRead(read []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	f := spec.Encode(&ClientMsg{Kind: ClientRead, Client: c.id, Body: read})
	if len(f) > MaxClientFrame {
		return fmt.Errorf("tcpnet: %d-byte read frame exceeds the cap %d", len(f), MaxClientFrame)
	}
	for _, l := range c.links {
		c.push(l, f)
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

// Close closes every connection, waits for the connection goroutines, and closes
// Replies. Later Send and Broadcast calls fail with ErrClosed.
func (c *ClientConn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
		c.wg.Wait()
		close(c.replies)
	})
	return nil
}

// Stats returns a snapshot of the counters.
func (c *ClientConn) Stats() ClientConnStats {
	s := ClientConnStats{Dropped: c.dropped.Load(), Replies: c.delivered.Load(),
		ReplyDrops: c.replyDrops.Load(), Garbage: c.garbage.Load(), Epochs: c.epochIn.Load(), EpochDrops: c.epochDrops.Load()}
	for _, l := range c.links {
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

func (c *ClientConn) push(l *clientLink, f []byte) {
	if !l.q.push(f) {
		c.dropped.Add(1)
	}
}

// target picks the replica for Send.
func (c *ClientConn) target() int {
	n := len(c.links)
	start := int(c.pref.Load())
	for k := range n {
		if i := (start + k) % n; c.links[i].connected.Load() {
			return i
		}
	}
	return start
}

// run keeps l's connection up until ctx ends.
func (c *ClientConn) run(ctx context.Context, l *clientLink) {
	log := c.opt.Logger.With("client", c.id, "replica", l.idx, "addr", l.addr)
	lost := false
	for ctx.Err() == nil {
		conn, err := c.connect(ctx, l)
		if err != nil {
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
		c.upOnce.Do(func() { close(c.up) })
		err = c.serve(ctx, conn, l, log)
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

// connect dials l, authenticates both ends (TLS pinned to the replica's transport
// key, the client's registered key; SPEC §13.2) and sends the hello.
func (c *ClientConn) connect(ctx context.Context, l *clientLink) (net.Conn, error) {
	d := net.Dialer{Timeout: c.opt.WriteTimeout}
	raw, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, err
	}
	raw = rawnet.Conn(raw)
	conn := raw
	if c.tls != nil {
		raw.SetDeadline(time.Now().Add(c.opt.WriteTimeout))
		if conn, _, err = handshake(ctx, raw, c.tls[l.idx], false); err != nil {
			raw.Close()
			return nil, err
		}
		raw.SetDeadline(time.Time{})
	}
	hello := spec.Encode(&ClientMsg{Kind: ClientHello, Client: c.id, Body: []byte(ClientProto)})
	conn.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	if _, err := conn.Write(appendFrame(hello)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// serve writes l's queued requests and reads replies on conn until either fails or
// ctx ends, and closes conn.
func (c *ClientConn) serve(ctx context.Context, conn net.Conn, l *clientLink, log *slog.Logger) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	readDone := make(chan struct{})
	var rerr error
	go func() { // joined below
		defer close(readDone)
		rerr = c.readReplies(conn, l, log)
		conn.Close()
	}()
	err := pump(ctx, conn, l.q, c.opt.WriteTimeout, readDone, &l.sent, &c.dropped)
	conn.Close()
	<-readDone
	if errors.Is(err, errStopped) {
		err = rerr
	}
	return err
}

// readReplies reads frames from l's connection until it fails, handing each REPLY
// to Replies and each epoch change to EpochChanges (dropping it if the channel is
// full). Garbage ends it.
func (c *ClientConn) readReplies(conn net.Conn, l *clientLink, log *slog.Logger) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		frame, err := readFrame(r, MaxBrokerFrame)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			return err
		}
		var kind uint64
		var body []byte
		if err == nil {
			kind, body, err = decodeClientPush(frame, c.id)
		}
		if err != nil {
			c.garbage.Add(1)
			log.Error("tcpnet: garbage from front end; closing the connection", "err", err)
			return err
		}
		if kind == ClientEpoch {
			deliver(c.epochs, body, &c.epochIn, &c.epochDrops)
		} else {
			c.inbox.deliver(c.replies, body, c.opt.RepliesBytes, &c.delivered, &c.replyDrops)
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
// receiver drains without telling: the sizes of the replies delivered, oldest first;
// those beyond the channel's length were taken (a channel is FIFO, and only
// deliver, under mu, adds to it).
type replyBudget struct {
	mu    sync.Mutex
	sizes []int
	bytes int
}

// deliver hands b to ch as the package's deliver does, unless the replies waiting
// would then hold more than max bytes (one is always admitted when none waits). It
// reports whether b was delivered.
func (rb *replyBudget) deliver(ch chan []byte, b []byte, max int, delivered, dropped *atomic.Uint64) bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	for len(rb.sizes) > len(ch) {
		rb.bytes -= rb.sizes[0]
		rb.sizes = rb.sizes[1:]
	}
	if len(rb.sizes) > 0 && rb.bytes+len(b) > max {
		dropped.Add(1)
		return false
	}
	if !deliver(ch, b, delivered, dropped) {
		return false
	}
	rb.sizes = append(rb.sizes, len(b))
	rb.bytes += len(b)
	return true
}

// initAuth checks the keys of the options and builds one TLS configuration per
// replica, pinned to that replica's transport key.
func (c *ClientConn) initAuth(n int) error {
	if c.opt.Insecure {
		c.opt.Logger.Warn("tcpnet: INSECURE TRANSPORT: plain TCP to the front ends, no authentication")
		return nil
	}
	if len(c.opt.ServerKeys) != n {
		return fmt.Errorf("tcpnet: DialClient: %d transport keys for %d addresses", len(c.opt.ServerKeys), n)
	}
	cert, err := selfSigned(c.opt.Key)
	if err != nil {
		return err
	}
	for _, k := range c.opt.ServerKeys {
		c.tls = append(c.tls, dialerTLS(cert, k))
	}
	return nil
}
