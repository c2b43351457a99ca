package tcpnet

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
)

// maxInboundPerPeer bounds the inbound connections claiming one id: a reconnecting
// peer's new connection may overlap its stale one; a further one closes the oldest.
const maxInboundPerPeer = 2

// acceptRetry is the pause after a failed Accept (for example, out of descriptors).
const acceptRetry = 50 * time.Millisecond

// acceptLoop accepts connections on l until ctx ends, handing each to serve on a new
// goroutine tracked by wg, unless admit refuses it (admit closes it then).
func (h *Host) acceptLoop(ctx context.Context, wg *sync.WaitGroup, l net.Listener, admit func(net.Conn) bool, serve func(context.Context, net.Conn)) {
	for {
		conn, err := l.Accept()
		switch {
		case ctx.Err() != nil || errors.Is(err, net.ErrClosed):
			if conn != nil {
				conn.Close()
			}
			return
		case err != nil:
			h.log.Warn("tcpnet: accept failed", "addr", l.Addr().String(), "err", err)
			if !sleepCtx(ctx, acceptRetry) {
				return
			}
		case admit(conn):
			goroutine(wg, func() { serve(ctx, conn) })
		}
	}
}

// acceptPeers serves the peer port.
func (h *Host) acceptPeers(ctx context.Context, wg *sync.WaitGroup) {
	h.acceptLoop(ctx, wg, h.peerL, h.admitPeer, h.servePeer)
}

// admitPeer takes a hello token, or refuses the connection when too many wait.
func (h *Host) admitPeer(conn net.Conn) bool {
	select {
	case h.hellos <- struct{}{}:
		return true
	default:
		h.c.refused.Add(1)
		h.log.Warn("tcpnet: too many peer connections waiting for hello; closing", "addr", conn.RemoteAddr().String())
		conn.Close()
		return false
	}
}

// servePeer reads one inbound peer connection: the hello, then PeerMsg frames, each
// decoded strictly before it is handed to the event loop. Anything else closes it.
func (h *Host) servePeer(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	addr := conn.RemoteAddr().String()
	r := bufio.NewReaderSize(conn, 64<<10)
	ps := h.peers.Load()
	id, err := h.readPeerHello(conn, r, ps)
	<-h.hellos
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, errNoHello) {
			h.c.badHellos.Add(1)
			h.log.Error("tcpnet: bad hello from peer; closing the connection", "addr", addr, "claimed", "none", "err", err)
		}
		return
	}
	p := ps.peers[id]
	p.addInbound(conn)
	defer p.removeInbound(conn)
	h.log.Debug("tcpnet: peer connected", "addr", addr, "claimed", id)
	h.readPeer(ctx, r, p, addr)
}

// readPeerHello reads the hello within Options.HelloTimeout.
func (h *Host) readPeerHello(conn net.Conn, r *bufio.Reader, ps *peerSet) (uint64, error) {
	conn.SetReadDeadline(time.Now().Add(h.opt.HelloTimeout))
	frame, err := readHello(r)
	if err != nil {
		return 0, err
	}
	conn.SetReadDeadline(time.Time{})
	return decodePeerHello(frame, h.opt.ID, len(ps.peers))
}

// readPeer reads frames from peer p's inbound connection until it fails, posting
// each valid PeerMsg to the event loop. Garbage is logged, counted, and ends it.
func (h *Host) readPeer(ctx context.Context, r *bufio.Reader, p *peer, addr string) {
	for {
		frame, err := readFrame(r, MaxPeerFrame)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			if ctx.Err() == nil {
				h.log.Debug("tcpnet: peer connection ended", "addr", addr, "claimed", p.id, "err", err)
			}
			return
		}
		var m *broker.PeerMsg
		var body any
		if err == nil {
			m, body, err = decodePeerFrame(frame)
		}
		if err != nil {
			p.c.garbage.Add(1)
			h.log.Error("tcpnet: garbage from peer; closing the connection", "addr", addr, "claimed", p.id, "err", err)
			return
		}
		from := p.id
		if !h.post(ctx, h.inbox, func(rep *broker.Replica) { rep.HandlePeerDecoded(from, m, body) }) {
			return
		}
		p.c.received.Add(1)
	}
}

// addInbound registers an inbound connection claiming p's id, closing and
// unregistering the oldest one beyond maxInboundPerPeer.
func (p *peer) addInbound(conn net.Conn) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	p.in = append(p.in, conn)
	p.c.inbound.Add(1)
	if len(p.in) > maxInboundPerPeer {
		p.in[0].Close() // its reader ends; its removeInbound finds nothing
		p.in = p.in[1:]
		p.c.inbound.Add(-1)
	}
}

// removeInbound unregisters conn, if it is still registered.
func (p *peer) removeInbound(conn net.Conn) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	for i, c := range p.in {
		if c == conn {
			p.in = append(p.in[:i:i], p.in[i+1:]...)
			p.c.inbound.Add(-1)
			return
		}
	}
}
