package tcpnet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/internal/rawio/rawnet"
	"github.com/splitbft/splitbft/spec"
)

// maxInboundPerPeer bounds the inbound connections authenticated as one peer: a
// reconnecting peer's new connection may overlap its stale one; a further one closes
// the oldest (only that peer, holding its transport key, can open one).
const maxInboundPerPeer = 2

// acceptRetry is the pause after a failed Accept (for example, out of descriptors).
const acceptRetry = 50 * time.Millisecond

// acceptLoop accepts connections on l until ctx ends, handing each to serve on a new
// goroutine tracked by wg, unless admit refuses it (admit closes it then).
func (h *Host) acceptLoop(ctx context.Context, wg *sync.WaitGroup, l net.Listener, admit func(net.Conn) bool, serve func(context.Context, net.Conn)) {
	for {
		conn, err := l.Accept()
		if err == nil {
			conn = rawnet.Conn(conn)
		}
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

// admitPeer takes a hello token and a slot of the connection's source IP, or
// refuses the connection when too many wait for their handshake and hello.
func (h *Host) admitPeer(conn net.Conn) bool {
	select {
	case h.hellos <- struct{}{}:
	default:
		h.c.refused.Add(1)
		h.log.Warn("tcpnet: too many peer connections waiting for hello; closing", "addr", conn.RemoteAddr().String())
		conn.Close()
		return false
	}
	if _, ok := h.auth.peerSrc.take(conn); !ok {
		<-h.hellos
		h.c.authFailures.Add(1)
		h.log.Debug("tcpnet: too many unauthenticated peer connections from one source; closing", "addr", conn.RemoteAddr().String())
		conn.Close()
		return false
	}
	return true
}

// servePeer reads one inbound peer connection: the TLS handshake, the hello (whose
// replica id must be the authenticated one), then PeerMsg frames, each decoded
// strictly before it is handed to the event loop. Anything else closes it.
func (h *Host) servePeer(ctx context.Context, raw net.Conn) {
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	addr := raw.RemoteAddr().String()
	ps := h.peers.Load()
	conn, r, id, err := h.authConn(ctx, raw, h.auth.peerTLS, func(frame []byte, key ed25519.PublicKey) (uint64, error) {
		id, err := decodePeerHello(frame, h.opt.ID, len(ps.peers))
		if err == nil {
			err = h.peerIdentity(key, id)
		}
		return id, err
	})
	<-h.hellos
	h.auth.peerSrc.release(sourceIP(raw))
	if err != nil {
		h.rejected(ctx, err, "peer", addr)
		return
	}
	p := ps.peers[id]
	cctx, cancel := context.WithCancel(ctx) // ends when the connection is replaced (addInbound)
	defer cancel()
	p.c.readers.Add(1) // before addInbound, so that it counts before it can replace another
	defer p.c.readers.Add(-1)
	p.addInbound(conn, cancel)
	defer p.removeInbound(conn)
	h.log.Debug("tcpnet: peer connected", "addr", addr, "claimed", id)
	h.readPeer(cctx, conn, r, p, addr)
}

// authConn runs the TLS handshake with cfg and reads the hello, both within
// Options.HelloTimeout; identify decodes the hello and checks that its id is the one
// the authenticated key belongs to.
func (h *Host) authConn(ctx context.Context, raw net.Conn, cfg *tls.Config, identify func(frame []byte, key ed25519.PublicKey) (uint64, error)) (net.Conn, *bufio.Reader, uint64, error) {
	raw.SetDeadline(time.Now().Add(h.opt.HelloTimeout))
	defer raw.SetDeadline(time.Time{})
	conn, key, err := handshake(ctx, raw, cfg, true)
	if err != nil {
		return nil, nil, 0, err
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	frame, err := readHello(r)
	if err != nil {
		return nil, nil, 0, err
	}
	id, err := identify(frame, key)
	return conn, r, id, err
}

// rejected logs and counts a connection that failed its handshake or hello. A failed
// handshake (no key of the cluster) is only counted and logged at debug level, so
// that a flood of them cannot flood the log either.
func (h *Host) rejected(ctx context.Context, err error, port, addr string) {
	switch {
	case ctx.Err() != nil || errors.Is(err, errNoHello):
	case isHandshakeErr(err):
		h.c.authFailures.Add(1)
		h.log.Debug("tcpnet: handshake failed; closing the connection", "port", port, "addr", addr, "err", err)
	case port == "peer":
		h.c.badHellos.Add(1)
		h.log.Error("tcpnet: bad hello from peer; closing the connection", "addr", addr, "claimed", "none", "err", err)
	default:
		h.c.clientGarbage.Add(1)
		h.log.Error("tcpnet: bad hello from client; closing the connection", "addr", addr, "claimed", "none", "err", err)
	}
}

// readPeer reads frames from peer p's inbound connection until it fails or ctx
// (the connection's: it ends when the host stops or the connection is replaced)
// ends, posting each valid PeerMsg to the event loop. Garbage is logged, counted, and
// ends it. While p's relayed requests are closed at the broker
// (broker.Replica.RelayClosed), its request frames are dropped and counted before
// they are decoded: the cheap check before the costly ones (SPEC §13.3 obligation 5).
func (h *Host) readPeer(ctx context.Context, conn net.Conn, r *bufio.Reader, p *peer, addr string) {
	dl := lazyDeadline{set: conn.SetReadDeadline}
	for {
		frame, err := h.nextPeerFrame(ctx, &dl, r, p)
		if err != nil && !errors.Is(err, ErrFrameLength) {
			if ctx.Err() == nil {
				h.log.Debug("tcpnet: peer connection ended", "addr", addr, "claimed", p.id, "err", err)
			}
			return
		}
		if err == nil && p.relayClosed.Load() && isRequestFrame(frame) {
			p.inb.release(len(frame))
			p.c.relayDrops.Add(1)
			continue
		}
		var m *broker.PeerMsg
		var body any
		if err == nil {
			if m, body, err = decodePeerFrame(frame); err != nil {
				p.inb.release(len(frame))
			}
		}
		if err != nil {
			p.c.garbage.Add(1)
			h.log.Error("tcpnet: garbage from peer; closing the connection", "addr", addr, "claimed", p.id, "err", err)
			return
		}
		h.postPeer(p, m, body, len(frame))
		p.c.received.Add(1)
	}
}

// nextPeerFrame reads the next frame of peer p's connection. After its length prefix
// and before its body, it waits for p's frame rate and reserves the frame's bytes in
// p's inbound budget (inBudget; SPEC §13.2), so that a reader over its budget holds
// no frame, only its peer's budget, and TCP flow control slows that peer alone. The
// caller owns the reservation of a frame returned without error.
func (h *Host) nextPeerFrame(ctx context.Context, dl *lazyDeadline, r *bufio.Reader, p *peer) ([]byte, error) {
	dl.refresh(h.opt.IdleTimeout)
	n, err := readLen(r, MaxPeerFrame)
	if err != nil {
		return nil, err
	}
	if d := p.rate.wait(time.Now()); d > 0 {
		p.c.throttled.Add(1)
		if !sleepCtx(ctx, d) {
			return nil, ctx.Err()
		}
	}
	waited, ok := p.inb.acquire(ctx, n)
	if waited {
		p.c.throttled.Add(1)
	}
	if !ok {
		return nil, ctx.Err()
	}
	dl.refresh(h.opt.IdleTimeout)
	frame, err := readBody(r, n)
	if err != nil {
		p.inb.release(n)
	}
	return frame, err
}

// requestPrefix is how every PeerMsg of kind request starts: a two-element array and
// the kind.
var requestPrefix = spec.AppendHead([]byte{0x82}, 0, spec.KindRequest)

// isRequestFrame reports whether frame starts as a PeerMsg of kind request (it may
// still be garbage; it is not decoded).
func isRequestFrame(frame []byte) bool { return bytes.HasPrefix(frame, requestPrefix) }

// addInbound registers an inbound connection authenticated as p, with the cancel
// function of its reader's context, closing and unregistering the oldest one beyond
// maxInboundPerPeer: its reader ends at once, even while it waits for p's budget or
// frame rate (which a read deadline would not interrupt).
func (p *peer) addInbound(conn net.Conn, cancel context.CancelFunc) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	p.in = append(p.in, inboundConn{conn, cancel})
	p.c.inbound.Add(1)
	if len(p.in) > maxInboundPerPeer {
		p.in[0].cancel()
		p.in[0].conn.Close() // its removeInbound finds nothing
		p.in = p.in[1:]
		p.c.inbound.Add(-1)
	}
}

// inboundConn is a registered inbound connection and its reader's cancel function.
type inboundConn struct {
	conn   net.Conn
	cancel context.CancelFunc
}

// removeInbound unregisters conn, if it is still registered.
func (p *peer) removeInbound(conn net.Conn) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	for i, c := range p.in {
		if c.conn == conn {
			p.in = append(p.in[:i:i], p.in[i+1:]...)
			p.c.inbound.Add(-1)
			return
		}
	}
}

// postPeer hands a message of n frame bytes from peer p, whose room in p's inbound
// budget its reader reserved, to the event loop through p's queue of the peerInbox
// (never blocking: the budget bounds the queue). The event releases the room once
// the replica has handled the message, and after a relayed request records whether
// p's relayed requests are now closed (readPeer).
func (h *Host) postPeer(p *peer, m *broker.PeerMsg, body any, n int) {
	from, request := p.id, m.Kind == spec.KindRequest
	h.peers.Load().in.push(int(from), func(rep *broker.Replica) {
		rep.HandlePeerDecoded(from, m, body)
		p.inb.release(n)
		if request {
			p.relayClosed.Store(rep.RelayClosed(from))
		}
	})
}
