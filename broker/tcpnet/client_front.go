package tcpnet

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// frontConn is one live client connection on the front end.
type frontConn struct {
	id   uint64   // the authenticated client id (SPEC §13.2): replies go only to its connections
	q    *queue   // reply frames waiting to be written
	conn net.Conn // closed when the client's newer connections push it out
	seq  uint64   // registration order, to find the oldest
}

// clientRegistry maps client ids to their live connections, for Reply.
type clientRegistry struct {
	mu   sync.Mutex
	byID map[uint64]map[*frontConn]struct{}
	seq  uint64
}

func (g *clientRegistry) init() { g.byID = map[uint64]map[*frontConn]struct{}{} }

// add registers fc and unregisters and returns the client's oldest connection beyond
// max, for the caller to close (only the authenticated client itself can open one,
// so it can only push out its own).
func (g *clientRegistry) add(fc *frontConn, max int) *frontConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byID[fc.id] == nil {
		g.byID[fc.id] = map[*frontConn]struct{}{}
	}
	g.seq++
	fc.seq = g.seq
	conns := g.byID[fc.id]
	conns[fc] = struct{}{}
	if len(conns) <= max {
		return nil
	}
	var oldest *frontConn
	for c := range conns {
		if oldest == nil || c.seq < oldest.seq {
			oldest = c
		}
	}
	delete(conns, oldest) // its remove finds nothing
	return oldest
}

func (g *clientRegistry) remove(fc *frontConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byID[fc.id], fc)
	if len(g.byID[fc.id]) == 0 {
		delete(g.byID, fc.id)
	}
}

// clientQueueBytes bounds the reply bytes waiting on one client connection.
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
		if len(frame) <= MaxReplyFrame && fc.q.push(frame) {
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
	for _, conns := range h.clients.byID {
		for fc := range conns {
			if fc.q.push(frame) {
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
// client id must be the one whose registered key authenticated), then request
// frames, each decoded strictly once before it goes to Replica.HandleClientDecoded; replies are
// written by a second goroutine. Garbage is logged, counted, and closes the connection.
func (h *Host) serveClient(ctx context.Context, raw net.Conn) {
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	addr := raw.RemoteAddr().String()
	conn, r, id, err := h.authConn(ctx, raw, h.auth.clientTLS, func(frame []byte, key ed25519.PublicKey) (uint64, error) {
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
	h.clientSession(ctx, conn, r, id, addr)
}

// clientSession serves a client connection after its hello: replies are written by a
// second goroutine while this one reads requests; both end together.
func (h *Host) clientSession(ctx context.Context, conn net.Conn, r *bufio.Reader, id uint64, addr string) {
	fc := &frontConn{id: id, q: newQueue(h.opt.ClientQueueLen, clientQueueBytes), conn: conn}
	if old := h.clients.add(fc, h.opt.MaxConnsPerClient); old != nil {
		old.conn.Close() // its session ends
	}
	h.c.clientConns.Add(1)
	h.c.clientAccepted.Add(1)
	defer h.c.clientConns.Add(-1)
	defer h.clients.remove(fc)
	readDone, written := make(chan struct{}), make(chan struct{})
	go func() { // joined below
		defer close(written)
		pump(ctx, conn, fc.q, h.opt.WriteTimeout, readDone, &h.c.repliesWritten, &h.c.replyLost)
		conn.Close()
	}()
	h.readClient(ctx, conn, r, id, addr)
	close(readDone)
	conn.Close()
	<-written
}

// readClient reads request frames of client id until the connection fails.
func (h *Host) readClient(ctx context.Context, conn net.Conn, r *bufio.Reader, id uint64, addr string) {
	dl := lazyDeadline{set: conn.SetReadDeadline}
	for {
		dl.refresh(h.opt.IdleTimeout)
		frame, err := readFrame(r, MaxClientFrame)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			return // the client went away
		}
		var req []byte
		read := err == nil && isReadFrame(frame)
		var q *spec.Request
		switch {
		case read:
			req, err = decodeClientRead(frame, id)
		case err == nil:
			req, q, err = decodeClientRequest(frame, id)
		}
		if err != nil {
			h.c.clientGarbage.Add(1)
			h.log.Error("tcpnet: garbage from client; closing the connection", "addr", addr, "claimed", id, "err", err)
			return
		}
		handle := func(rep *broker.Replica) { rep.HandleClientDecoded(req, q) }
		if read {
			handle = func(rep *broker.Replica) { rep.HandleRead(req) }
		}
		if !h.post(ctx, h.clientIn, handle) {
			return
		}
		h.c.clientRequests.Add(1)
	}
}
