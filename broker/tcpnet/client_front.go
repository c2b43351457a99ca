package tcpnet

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// frontConn is one live client connection on the front end.
type frontConn struct {
	id uint64 // the client id of its hello (a claim: replies are sealed for that client)
	q  *queue // reply frames waiting to be written
}

// clientRegistry maps client ids to their live connections, for Reply.
type clientRegistry struct {
	mu   sync.Mutex
	byID map[uint64]map[*frontConn]struct{}
}

func (g *clientRegistry) init() { g.byID = map[uint64]map[*frontConn]struct{}{} }

func (g *clientRegistry) add(fc *frontConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byID[fc.id] == nil {
		g.byID[fc.id] = map[*frontConn]struct{}{}
	}
	g.byID[fc.id][fc] = struct{}{}
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
		return true
	}
	serve := func(ctx context.Context, conn net.Conn) {
		defer open.Add(-1)
		h.serveClient(ctx, conn)
	}
	h.acceptLoop(ctx, wg, h.clientL, admit, serve)
}

// serveClient serves one client connection: the hello, then request frames, each
// decoded strictly once before it goes to Replica.HandleClientDecoded; replies are written by a
// second goroutine. Garbage is logged, counted, and closes the connection.
func (h *Host) serveClient(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	addr := conn.RemoteAddr().String()
	r := bufio.NewReaderSize(conn, 64<<10)
	id, err := h.readClientHello(conn, r)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, errNoHello) {
			h.c.clientGarbage.Add(1)
			h.log.Error("tcpnet: bad hello from client; closing the connection", "addr", addr, "claimed", "none", "err", err)
		}
		return
	}
	h.clientSession(ctx, conn, r, id, addr)
}

// clientSession serves a client connection after its hello: replies are written by a
// second goroutine while this one reads requests; both end together.
func (h *Host) clientSession(ctx context.Context, conn net.Conn, r *bufio.Reader, id uint64, addr string) {
	fc := &frontConn{id: id, q: newQueue(h.opt.ClientQueueLen, clientQueueBytes)}
	h.clients.add(fc)
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
	h.readClient(ctx, r, id, addr)
	close(readDone)
	conn.Close()
	<-written
}

// readClientHello reads the hello within Options.HelloTimeout.
func (h *Host) readClientHello(conn net.Conn, r *bufio.Reader) (uint64, error) {
	conn.SetReadDeadline(time.Now().Add(h.opt.HelloTimeout))
	frame, err := readHello(r)
	if err != nil {
		return 0, err
	}
	conn.SetReadDeadline(time.Time{})
	return decodeClientHello(frame)
}

// readClient reads request frames of client id until the connection fails.
func (h *Host) readClient(ctx context.Context, r *bufio.Reader, id uint64, addr string) {
	for {
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
