package tcpnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbft/splitbft/broker"
)

// Errors of Host and ClientConn.
var (
	ErrStopped = errors.New("tcpnet: host stopped")                    // Query after Run returned or Close
	ErrRunning = errors.New("tcpnet: host already running or stopped") // Run, SetPeers or Close at the wrong time
	ErrClosed  = errors.New("tcpnet: client connection closed")        // ClientConn calls after Close
)

// Host states.
const (
	stateIdle    int32 = iota // listeners bound, Run not called
	stateRunning              // Run in progress
	stateDone                 // Run returned, or Close
)

// Host runs one replica's broker over TCP: its event loop, its links to the other
// brokers and its client front end. Create it with Listen, pass Net to
// broker.NewReplica, then call Run.
type Host struct {
	opt     Options
	log     *slog.Logger
	peerL   net.Listener
	clientL net.Listener // nil without a client port

	peers    atomic.Pointer[peerSet]    // set by Listen or SetPeers before Run; fixed afterwards
	inbox    chan func(*broker.Replica) // queries, for the event loop (peer messages go through peerSet.in)
	clientIn chan func(*broker.Replica) // client requests, for the event loop
	hellos   chan struct{}              // one token per peer connection waiting for its hello
	clients  clientRegistry
	// attachRate bounds the attach signatures verified per authenticated client.
	attachRate *idRate
	auth       hostAuth
	c          hostCounters
	out        outHold // the event loop's held writer wake-ups

	state   atomic.Int32  // stateIdle → stateRunning → stateDone, or stateIdle → stateDone
	stopped chan struct{} // closed when the host reaches stateDone
}

// peerSet is the host's view of the other brokers.
type peerSet struct {
	peers []*peer    // index = replica id; peers[ID] is nil
	in    *peerInbox // their messages for the event loop
}

// maxPendingHellos bounds the peer connections accepted but not yet identified.
const maxPendingHellos = 64

// Listen binds the peer listener and, if opt.ClientListen is set, the client
// listener. Nothing runs until Run; a Host that will never run must be Closed.
func Listen(opt Options) (*Host, error) {
	opt = opt.withDefaults()
	if opt.Listen == "" {
		return nil, errors.New("tcpnet: Options.Listen is required")
	}
	h := &Host{opt: opt, log: opt.Logger.With("replica", opt.ID),
		inbox: make(chan func(*broker.Replica), opt.InboxLen), clientIn: make(chan func(*broker.Replica), opt.InboxLen),
		hellos: make(chan struct{}, maxPendingHellos), stopped: make(chan struct{})}
	h.clients.init()
	h.attachRate = newIDRate(float64(opt.AttachRate), float64(opt.AttachBurst), float64(opt.HostAttachRate), float64(opt.HostAttachBurst))
	if err := h.initAuth(); err != nil {
		return nil, err
	}
	if opt.Peers != nil {
		if err := h.SetPeers(opt.Peers); err != nil {
			return nil, err
		}
	}
	var err error
	if h.peerL, err = net.Listen("tcp", opt.Listen); err != nil {
		return nil, fmt.Errorf("tcpnet: peer listener: %w", err)
	}
	if opt.ClientListen != "" {
		if h.clientL, err = net.Listen("tcp", opt.ClientListen); err != nil {
			h.peerL.Close()
			return nil, fmt.Errorf("tcpnet: client listener: %w", err)
		}
	}
	return h, nil
}

// SetPeers sets the peer addresses (index = replica id; the entry at the host's own
// id is ignored), replacing Options.Peers. It must be called before Run, and is for
// clusters whose addresses are known only once every host listens (tests with port
// 0). Frames sent before it are dropped and counted as unroutable.
func (h *Host) SetPeers(addrs []string) error {
	if h.state.Load() != stateIdle {
		return ErrRunning
	}
	if uint64(len(addrs)) <= h.opt.ID {
		return fmt.Errorf("tcpnet: %d peer addresses do not include replica %d", len(addrs), h.opt.ID)
	}
	ps := &peerSet{peers: make([]*peer, len(addrs)), in: newPeerInbox(len(addrs))}
	for i, a := range addrs {
		if uint64(i) != h.opt.ID {
			ps.peers[i] = &peer{id: uint64(i), q: newQueue(h.opt.QueueLen, h.opt.QueueBytes),
				inb: newInBudget(h.opt.PeerInLen, h.opt.PeerInBytes), rate: newFrameRate(h.opt.PeerFrameRate, h.opt.PeerFrameRate)}
			ps.peers[i].addr.Store(&a)
		}
	}
	h.peers.Store(ps)
	return nil
}

// PeerAddr returns the bound peer listen address.
func (h *Host) PeerAddr() string { return h.peerL.Addr().String() }

// ClientAddr returns the bound client listen address, or "" without a client port.
func (h *Host) ClientAddr() string {
	if h.clientL == nil {
		return ""
	}
	return h.clientL.Addr().String()
}

// Net returns the broker.Net of this host, for broker.NewReplica. Its calls never
// block: Send queues the frame for the peer's outbound connection (dropping and
// counting it when the queue is full), Reply queues it on every live connection of
// the client. It is a broker.EpochNet: Epoch queues an epoch frame on every live
// client connection (SPEC §13.2, kind 5).
func (h *Host) Net() broker.Net { return hostNet{h} }

type hostNet struct{ h *Host }

// hostNet is all three: the event loop relies on Release and Epoch being found.
var (
	_ broker.EpochNet = hostNet{}
	_ broker.Releaser = hostNet{}
)

func (n hostNet) Send(to uint64, msg []byte)        { n.h.send(to, msg) }
func (n hostNet) Reply(client uint64, reply []byte) { n.h.reply(client, reply) }
func (n hostNet) Epoch(change []byte)               { n.h.pushEpoch(change) }

// Release wakes the writers of what the event loop queued so far (broker.Releaser).
func (n hostNet) Release() { n.h.out.release(false) }

// send queues msg for peer to.
func (h *Host) send(to uint64, msg []byte) {
	ps := h.peers.Load()
	if ps == nil || to >= uint64(len(ps.peers)) || ps.peers[to] == nil {
		h.c.unroutable.Add(1)
		return
	}
	p := ps.peers[to]
	if len(msg) == 0 || len(msg) > MaxPeerFrame || !h.out.push(p.q, msg) {
		p.c.dropped.Add(1)
	}
}

// Close releases the listeners of a host whose Run was never called; Run then fails.
// While Run is in progress, cancel its context instead (Close returns ErrRunning).
func (h *Host) Close() error {
	switch {
	case h.state.CompareAndSwap(stateIdle, stateDone):
		h.closeListeners()
		close(h.stopped)
		return nil
	case h.state.Load() == stateDone:
		return nil
	}
	return ErrRunning
}

func (h *Host) closeListeners() {
	h.peerL.Close()
	if h.clientL != nil {
		h.clientL.Close()
	}
}

// Stats returns a snapshot of the counters. It is safe to call at any time.
func (h *Host) Stats() Stats {
	s := Stats{BadHellos: h.c.badHellos.Load(), Refused: h.c.refused.Load(), AuthFailures: h.c.authFailures.Load(),
		Unroutable: h.c.unroutable.Load(), Clients: h.c.clientStats()}
	if ps := h.peers.Load(); ps != nil {
		s.Peers = make([]PeerStats, len(ps.peers))
		for i, p := range ps.peers {
			if p != nil {
				s.Peers[i] = p.stats()
			}
		}
	}
	return s
}

// Query runs f on the event loop goroutine, with the replica, and waits for it. It
// fails with ctx's error (f may still run later) or ErrStopped once Run has returned.
func (h *Host) Query(ctx context.Context, f func(*broker.Replica)) error {
	done := make(chan struct{})
	select {
	case h.inbox <- func(r *broker.Replica) { f(r); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-h.stopped:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.stopped:
		return ErrStopped
	}
}

// post hands an event to the event loop through ch, waiting while the loop is busy
// (which pushes back on the connection's sender); false once ctx ended.
func (h *Host) post(ctx context.Context, ch chan<- func(*broker.Replica), ev func(*broker.Replica)) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// sleepCtx waits for d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// goroutine runs f on a new goroutine tracked by wg.
func goroutine(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// Wake makes the event loop run a Flush soon, without blocking: for a writer on
// another goroutine whose progress the broker waits for (a ledger's fsync releasing
// held replies). When the inbox is full the loop is busy and flushes anyway.
func (h *Host) Wake() {
	select {
	case h.inbox <- func(*broker.Replica) {}:
	default:
	}
}
