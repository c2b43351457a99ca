package tcpnet

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/internal/rawio/rawnet"
	"github.com/splitbft/splitbft/spec"
)

// peer is one other broker: its outbound queue and connection state, the inbound
// connections that claim its id, and its counters.
type peer struct {
	id   uint64
	addr atomic.Pointer[string] // where to dial it; SetPeerAddr changes it while running
	q    *queue                 // frames for the outbound connection
	c    peerCounters
	inb  *inBudget  // its messages handed to the event loop and not yet handled
	rate *frameRate // its inbound frames per second
	// relayClosed: the broker drops its relayed requests unverified
	// (broker.Replica.RelayClosed, as of the event loop's last look), so its readers
	// drop them before decoding.
	relayClosed atomic.Bool

	inMu sync.Mutex
	in   []inboundConn // live inbound connections authenticated as id, oldest first; ≤ maxInboundPerPeer
}

func (p *peer) stats() PeerStats { return p.c.snapshot(p.address(), p.q) }

// address returns where to dial p.
func (p *peer) address() string { return *p.addr.Load() }

// SetPeerAddr makes the host dial replica id at addr from its next connection attempt
// on (an epoch may change a replica's address, SPEC §17.2); safe while running. The
// current connection stays until it fails. Unknown ids and the host's own are ignored.
func (h *Host) SetPeerAddr(id uint64, addr string) {
	ps := h.peers.Load()
	if ps == nil || id >= uint64(len(ps.peers)) || ps.peers[id] == nil {
		return
	}
	ps.peers[id].addr.Store(&addr)
}

// errPeerSpoke is the error for data arriving on an outbound connection (the remote
// end only reads), or its end of stream.
var errPeerSpoke = errors.New("the peer closed the connection or sent on it")

// dial runs p's outbound connection until ctx ends: dial, hello, then write queued
// frames; after any failure, back off and dial again.
func (h *Host) dial(ctx context.Context, p *peer, bo *backoff) {
	log := h.log.With("peer", p.id)
	lost := false
	for ctx.Err() == nil {
		conn, err := h.connect(ctx, p)
		if err != nil {
			p.c.dialErrors.Add(1)
			log.Debug("tcpnet: cannot reach peer", "err", err)
			if !bo.wait(ctx) {
				return
			}
			continue
		}
		start := time.Now()
		p.c.connects.Add(1)
		if lost {
			p.c.reconnects.Add(1)
		}
		p.c.connected.Store(true)
		log.Info("tcpnet: connected to peer")
		err = h.sendTo(ctx, conn, p)
		bo.ended(time.Since(start))
		p.c.connected.Store(false)
		lost = true
		if ctx.Err() != nil {
			return
		}
		log.Warn("tcpnet: lost the connection to peer; reconnecting", "err", err)
		if !bo.wait(ctx) {
			return
		}
	}
}

// connect dials p, authenticates it (TLS, pinned to p's transport key; SPEC §13.2)
// and sends the hello.
func (h *Host) connect(ctx context.Context, p *peer) (net.Conn, error) {
	d := net.Dialer{Timeout: h.opt.WriteTimeout}
	raw, err := d.DialContext(ctx, "tcp", p.address())
	if err != nil {
		return nil, err
	}
	raw = rawnet.Conn(raw)
	raw.SetDeadline(time.Now().Add(h.opt.WriteTimeout))
	conn, err := h.dialPeerTLS(ctx, raw, p)
	if err != nil {
		raw.Close()
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	hello := spec.Encode(&PeerHello{Proto: []byte(PeerProto), Replica: h.opt.ID})
	conn.SetWriteDeadline(time.Now().Add(h.opt.WriteTimeout))
	if _, err := conn.Write(appendFrame(hello)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// sendTo writes p's queued frames to conn until ctx ends or the connection fails,
// and closes conn. A remote end that sends anything, or closes, ends it too.
func (h *Host) sendTo(ctx context.Context, conn net.Conn, p *peer) error {
	spoke := make(chan struct{})
	go func() { // joined below: sendTo returns only after it
		defer close(spoke)
		var b [1]byte
		conn.Read(b[:])
		conn.Close()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err := pump(ctx, conn, p.q, h.opt.WriteTimeout, false, spoke, &p.c.sent, &p.c.dropped)
	conn.Close()
	<-spoke
	if errors.Is(err, errStopped) {
		err = errPeerSpoke
	}
	return err
}

// errStopped is pump's error when its stop channel closed.
var errStopped = errors.New("tcpnet: stopped")

// pump writes q's frames to conn as they arrive, until ctx ends, stop closes or a
// write fails (a write blocked for timeout fails, or for half of it: lazyDeadline). Written frames are counted in
// sent; frames taken from q but not known to be written, in lost.
func pump(ctx context.Context, conn net.Conn, q *queue, timeout time.Duration, yield bool, stop <-chan struct{}, sent, lost *atomic.Uint64) error {
	w := bufio.NewWriterSize(conn, 64<<10)
	dl := lazyDeadline{set: conn.SetWriteDeadline}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errStopped
		case <-q.ready:
		}
		if yield {
			// A client process: let the client goroutines that are ready to run
			// first (those answered by the same batch, signing their next
			// requests) queue theirs, so that one write carries them all and the
			// broker wakes once instead of once per request. When nothing else is
			// ready this returns at once. (A broker holds its writers' wake-ups
			// instead: outHold.)
			runtime.Gosched()
		}
		frames := q.take()
		if len(frames) == 0 {
			continue
		}
		dl.refresh(timeout)
		if err := writeFrames(w, frames); err != nil {
			lost.Add(uint64(len(frames)))
			return err
		}
		sent.Add(uint64(len(frames)))
	}
}

// writeFrames writes frames through w and flushes it.
func writeFrames(w *bufio.Writer, frames [][]byte) error {
	for _, f := range frames {
		if err := writeFrame(w, f); err != nil {
			return err
		}
	}
	return w.Flush()
}
