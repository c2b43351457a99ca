package tcpnet

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/splitbft/splitbft/broker"
)

// frontConn is one live client connection on the front end. It carries the
// clients attached to it: the one whose key authenticated it (its hello) and those
// attached since by a signed attach frame (SPEC §13.2).
type frontConn struct {
	hello   uint64                // the client whose key authenticated the connection
	key     ed25519.PublicKey     // that key (nil when insecure)
	ids     map[uint64]attachment // attached clients; guarded by clientRegistry.mu
	q       *queue                // reply frames waiting to be written
	conn    net.Conn              // the TLS connection its session reads and writes
	raw     net.Conn              // the TCP connection under conn: closed (shut) when the clients' newer connections push out every one of them, or when the keys no longer register its hello
	binding [32]byte              // the connection's TLS exporter value, which attaches sign (zero when insecure)
}

// shut ends fc's session from another goroutine by closing its TCP connection, not
// the TLS one: tls.Conn.Close sends close_notify under the connection's output lock,
// which its own reader may hold for as long as a client that never reads wants (a
// TLS 1.3 KeyUpdate answer, written without a deadline), and the caller (the
// broker's event loop, for SetClientKeys) must not wait on a client.
func (fc *frontConn) shut() { fc.raw.Close() }

// attachment is one client attached to a connection.
type attachment struct {
	seq uint64            // registration order
	key ed25519.PublicKey // the key that authenticated it (the hello's TLS key, or the attach's signature); nil when insecure
}

// clientRegistry maps client ids to the live connections they are attached to, for
// Reply.
type clientRegistry struct {
	mu   sync.Mutex
	byID map[uint64]map[*frontConn]struct{}
	seq  uint64
	keys *clientSet // the registered keys an attachment must match; nil: any (insecure mode)
}

func (g *clientRegistry) init() { g.byID = map[uint64]map[*frontConn]struct{}{} }

// registered reports whether cs registers client id with key.
func (cs *clientSet) registered(id uint64, key ed25519.PublicKey) bool {
	k, ok := cs.byID[id]
	return ok && len(key) == ed25519.PublicKeySize && k.Equal(key)
}

// add attaches client id, authenticated by key, to fc, unless the registered keys
// (g.keys, which SetClientKeys may have replaced since key was checked) no longer
// register id with key: then ok is false and nothing changes. When the client is
// then attached to more than max connections, it is detached from one of the
// others: the oldest of those that carry it alone if any (closing it pushes out no
// other client), else the oldest. add returns that connection if no client is left
// on it, for the caller to close (only a holder of the client's key can attach it).
// The connection's reply queue grows by one client's bounds per client attached
// (SPEC §13.2).
func (g *clientRegistry) add(fc *frontConn, id uint64, key ed25519.PublicKey, max int) (closing *frontConn, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys != nil && !g.keys.registered(id, key) {
		return nil, false
	}
	if _, ok := fc.ids[id]; ok {
		return nil, true
	}
	if g.byID[id] == nil {
		g.byID[id] = map[*frontConn]struct{}{}
	}
	g.seq++
	fc.ids[id] = attachment{seq: g.seq, key: key}
	fc.q.resize(len(fc.ids))
	conns := g.byID[id]
	conns[fc] = struct{}{}
	if len(conns) <= max {
		return nil, true
	}
	var oldest *frontConn // of the others, the oldest that carries the client alone, else the oldest
	for c := range conns {
		if c == fc {
			continue
		}
		alone, oldestAlone := len(c.ids) == 1, oldest != nil && len(oldest.ids) == 1
		if oldest == nil || alone && !oldestAlone || alone == oldestAlone && c.ids[id].seq < oldest.ids[id].seq {
			oldest = c
		}
	}
	g.detach(oldest, id)
	if len(oldest.ids) > 0 {
		return nil, true
	}
	return oldest, true // its remove finds nothing
}

// detach detaches client id from fc (g.mu held) and shrinks fc's reply queue.
func (g *clientRegistry) detach(fc *frontConn, id uint64) {
	delete(fc.ids, id)
	if conns := g.byID[id]; conns != nil {
		delete(conns, fc)
		if len(conns) == 0 {
			delete(g.byID, id)
		}
	}
	if len(fc.ids) > 0 {
		fc.q.resize(len(fc.ids))
	}
}

// rekey makes cs the registered keys (nil: any) and drops what cs no longer allows:
// it detaches every client attached under a key cs does not register for it
// (removed, or registered again with another key), and detaches every client from a
// connection whose hello's key cs does not register for the hello's client, or that
// is left with no client. It returns those connections, for the caller to close
// (their clients reconnect as after any lost connection), and the number of
// attachments dropped. Its work is bounded by the live attachments (at most
// MaxClientConns × MaxClientsPerConn).
func (g *clientRegistry) rekey(cs *clientSet, publish func()) (closing []*frontConn, dropped int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys = cs
	if publish != nil {
		publish()
	}
	if cs == nil {
		return nil, 0
	}
	seen := map[*frontConn]bool{}
	for _, conns := range g.byID {
		for fc := range conns {
			seen[fc] = true
		}
	}
	for fc := range seen {
		helloOK := cs.registered(fc.hello, fc.key)
		for id, a := range fc.ids {
			if !helloOK || !cs.registered(id, a.key) {
				g.detach(fc, id)
				dropped++
			}
		}
		if len(fc.ids) == 0 {
			closing = append(closing, fc)
		}
	}
	return closing, dropped
}

// attached reports whether client id is attached to fc.
func (g *clientRegistry) attached(fc *frontConn, id uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := fc.ids[id]
	return ok
}

// count returns the number of clients attached to fc.
func (g *clientRegistry) count(fc *frontConn) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(fc.ids)
}

// remove detaches every client from fc.
func (g *clientRegistry) remove(fc *frontConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id := range fc.ids {
		delete(g.byID[id], fc)
		if len(g.byID[id]) == 0 {
			delete(g.byID, id)
		}
	}
	clear(fc.ids)
}

// clientQueueBytes bounds the reply bytes waiting on one client connection, per client attached to it.
const clientQueueBytes = 64 << 20

// reply queues an encoded REPLY on every live connection of client.
func (h *Host) reply(client uint64, rep []byte) {
	frame := encodeClientMsg(ClientReply, client, rep)
	h.clients.mu.Lock()
	defer h.clients.mu.Unlock()
	conns := h.clients.byID[client]
	if len(conns) == 0 {
		h.c.noConn.Add(1)
		return
	}
	for fc := range conns {
		if len(frame) <= MaxReplyFrame && h.out.push(fc.q, frame) {
			h.c.replies.Add(1)
		} else {
			h.c.replyDrops.Add(1)
		}
	}
}

// pushEpoch queues an adopted epoch change on every live client connection: one
// frame, shared by all (Client 0), each connection's copy dropped and counted when
// its queue is full (the client then learns the epoch at its retransmission).
func (h *Host) pushEpoch(change []byte) {
	frame := encodeClientMsg(ClientEpoch, 0, change)
	if len(frame) > MaxEpochFrame {
		return // the kind table's cap: an adopted change never exceeds it
	}
	h.clients.mu.Lock()
	defer h.clients.mu.Unlock()
	seen := map[*frontConn]bool{}
	for _, conns := range h.clients.byID {
		for fc := range conns {
			if seen[fc] {
				continue // a connection of many clients gets the frame once
			}
			seen[fc] = true
			if h.out.push(fc.q, frame) {
				h.c.epochs.Add(1)
			} else {
				h.c.epochDrops.Add(1)
			}
		}
	}
}

// acceptClients serves the client port.
func (h *Host) acceptClients(ctx context.Context, wg *sync.WaitGroup) {
	var open atomic.Int64 // connections being served, before or after hello
	admit := func(conn net.Conn) bool {
		if open.Add(1) > int64(h.opt.MaxClientConns) {
			open.Add(-1)
			h.c.clientRefused.Add(1)
			h.log.Warn("tcpnet: too many client connections; closing", "addr", conn.RemoteAddr().String())
			conn.Close()
			return false
		}
		if _, ok := h.auth.clientSrc.take(conn); !ok {
			open.Add(-1)
			h.c.authFailures.Add(1)
			h.log.Debug("tcpnet: too many unauthenticated client connections from one source; closing", "addr", conn.RemoteAddr().String())
			conn.Close()
			return false
		}
		return true
	}
	serve := func(ctx context.Context, conn net.Conn) {
		defer open.Add(-1)
		h.serveClient(ctx, conn)
	}
	h.acceptLoop(ctx, wg, h.clientL, admit, serve)
}

// serveClient serves one client connection: the TLS handshake and the hello (whose
// client id must be the one whose registered key authenticated), then attach,
// request and read frames, each decoded strictly once before it goes to the
// replica; replies are written by a second goroutine. Garbage is logged, counted,
// and closes the connection.
func (h *Host) serveClient(ctx context.Context, raw net.Conn) {
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	addr := raw.RemoteAddr().String()
	var helloKey ed25519.PublicKey // nil when insecure
	conn, r, id, err := h.authConn(ctx, raw, h.auth.clientTLS, func(frame []byte, key ed25519.PublicKey) (uint64, error) {
		helloKey = key
		id, err := decodeClientHello(frame)
		if err == nil {
			err = h.clientIdentity(key, id)
		}
		return id, err
	})
	h.auth.clientSrc.release(sourceIP(raw))
	if err != nil {
		h.rejected(ctx, err, "client", addr)
		return
	}
	b, err := connBinding(conn, h.opt.Insecure)
	if err != nil {
		h.log.Error("tcpnet: client connection has no TLS binding; closing", "addr", addr, "err", err)
		return
	}
	fc := &frontConn{hello: id, key: helloKey, ids: map[uint64]attachment{}, q: newQueue(h.opt.ClientQueueLen, clientQueueBytes), conn: conn, raw: raw, binding: b}
	h.clientSession(ctx, fc, r, addr)
}

// clientSession serves a client connection after its hello: replies are written by a
// second goroutine while this one reads requests; both end together.
func (h *Host) clientSession(ctx context.Context, fc *frontConn, r *bufio.Reader, addr string) {
	old, ok := h.clients.add(fc, fc.hello, fc.key, h.opt.MaxConnsPerClient)
	if old != nil {
		old.shut() // its session ends
	}
	if !ok { // SetClientKeys dropped the hello's key after the handshake checked it
		h.c.revokedConns.Add(1)
		h.log.Debug("tcpnet: client no longer registered with the key it authenticated with; closing", "addr", addr, "claimed", fc.hello)
		return
	}
	conn := fc.conn
	h.c.clientConns.Add(1)
	h.c.clientAccepted.Add(1)
	defer h.c.clientConns.Add(-1)
	defer h.clients.remove(fc)
	readDone, written := make(chan struct{}), make(chan struct{})
	go func() { // joined below
		defer close(written)
		pump(ctx, conn, fc.q, h.opt.WriteTimeout, false, readDone, &h.c.repliesWritten, &h.c.replyLost)
		conn.Close()
	}()
	h.readClient(ctx, fc, r, addr)
	close(readDone)
	conn.Close()
	<-written
}

// readClient reads attach, request and read frames on fc until the connection fails
// or sends garbage: a frame that does not decode strictly as its kind. A request or
// read for a client not attached to fc, and a refused attach (see attach), are
// dropped and counted (ClientStats.Unattached, AttachRefused) without closing the
// connection: its other clients are not at fault (a client detached by its own
// newer connections, or removed by an epoch, SPEC §13.2).
func (h *Host) readClient(ctx context.Context, fc *frontConn, r *bufio.Reader, addr string) {
	dl := lazyDeadline{set: fc.conn.SetReadDeadline}
	for {
		dl.refresh(h.opt.IdleTimeout)
		frame, err := readFrame(r, MaxClientFrame)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			return // the client went away
		}
		var handle func(rep *broker.Replica)
		if err == nil {
			handle, err = h.clientFrame(ctx, fc, clientFrameKind(frame), frame)
		}
		if err != nil {
			h.c.clientGarbage.Add(1)
			h.log.Error("tcpnet: garbage from client; closing the connection", "addr", addr, "claimed", fc.hello, "err", err)
			return
		}
		if handle == nil {
			continue // an attach, or a frame dropped and counted
		}
		if !h.post(ctx, h.clientIn, handle) {
			return
		}
		h.c.clientRequests.Add(1)
	}
}

// clientFrame checks one frame of fc and returns what the event loop does with it:
// nil for an attach (handled here) and for a request or read of a client not
// attached to fc (dropped and counted).
func (h *Host) clientFrame(ctx context.Context, fc *frontConn, kind uint64, frame []byte) (func(*broker.Replica), error) {
	switch kind {
	case ClientAttach:
		return nil, h.attach(ctx, fc, frame)
	case ClientRead:
		id, read, err := decodeClientRead(frame)
		if err != nil || !h.attachedOrCount(fc, id) {
			return nil, err
		}
		return func(rep *broker.Replica) { rep.HandleRead(read) }, nil
	default:
		id, req, q, err := decodeClientRequest(frame)
		if err != nil || !h.attachedOrCount(fc, id) {
			return nil, err
		}
		return func(rep *broker.Replica) { rep.HandleClientDecoded(req, q) }, nil
	}
}

// attachedOrCount reports whether client id is attached to fc, counting a frame
// for a client that is not.
func (h *Host) attachedOrCount(fc *frontConn, id uint64) bool {
	if h.clients.attached(fc, id) {
		return true
	}
	h.c.clientUnattached.Add(1)
	return false
}

// attach checks an attach frame of fc (SPEC §13.2) and attaches its client. A frame
// that does not decode as an attach is garbage (the error). An attach is refused,
// dropped and counted (AttachRefused; logged at debug level only, so that refusals
// cannot flood the log) when the connection carries Options.MaxClientsPerConn
// clients, when the configuration does not register the client, or when the
// signature over the connection's binding fails under its key (a client whose key
// an epoch replaced, say): the connection's other clients are not at fault. Only a
// registered client's attach costs a verification, after it took a token of the
// attach budgets (of the connection's authenticated client and of the host; the
// reader waits for them). In insecure mode ids are claims, and no signature is
// checked.
func (h *Host) attach(ctx context.Context, fc *frontConn, frame []byte) error {
	id, sig, err := decodeClientAttach(frame)
	if err != nil {
		return err
	}
	refuse := func(why string) error {
		h.c.attachRefused.Add(1)
		h.log.Debug("tcpnet: attach refused", "claimed", fc.hello, "client", id, "why", why)
		return nil
	}
	if h.clients.attached(fc, id) {
		return nil
	}
	if h.clients.count(fc) >= h.opt.MaxClientsPerConn {
		return refuse(fmt.Sprintf("the connection carries %d clients already", h.opt.MaxClientsPerConn))
	}
	var key ed25519.PublicKey
	if !h.opt.Insecure {
		var ok bool
		if key, ok = h.auth.clients.Load().byID[id]; !ok {
			return refuse("not registered")
		}
		if !h.attachRate.wait(ctx, fc.hello) || !h.attachRate.waitHost(ctx) {
			return ctx.Err()
		}
		if !ed25519.Verify(key, AttachSignedBytes(fc.binding, id), sig) {
			return refuse("bad signature")
		}
	}
	old, ok := h.clients.add(fc, id, key, h.opt.MaxConnsPerClient)
	if old != nil {
		old.shut()
	}
	if !ok {
		return refuse("no longer registered with the key it signed with") // SetClientKeys ran meanwhile
	}
	h.c.clientAttaches.Add(1)
	return nil
}
