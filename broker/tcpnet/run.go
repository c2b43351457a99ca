package tcpnet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
)

// drainMax bounds the events handled in one burst before Flush.
const drainMax = 1024

// Run drives replica r (built with this host's Net) until ctx ends: it dials every
// peer, accepts peer and client connections, and runs the event loop, which alone
// calls r's methods (HandlePeer, HandleClient, Tick every Options.Tick, Flush after
// each burst of events). When ctx ends it closes the listeners and every connection,
// waits for all its goroutines, and returns nil. It returns an error at once if r is
// not replica Options.ID, no peers are set, or Run was called before (or Close).
func (h *Host) Run(ctx context.Context, r *broker.Replica) error {
	ps := h.peers.Load()
	switch {
	case r.ID() != h.opt.ID:
		return fmt.Errorf("tcpnet: replica %d on the host of replica %d", r.ID(), h.opt.ID)
	case ps == nil:
		return errors.New("tcpnet: no peers: set Options.Peers or call SetPeers")
	}
	if err := h.checkPeerKeys(len(ps.peers)); err != nil {
		return err
	}
	if !h.state.CompareAndSwap(stateIdle, stateRunning) {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	err := h.start(ctx, &wg, ps)
	if err == nil {
		h.log.Info("tcpnet: replica running", "peers", h.PeerAddr(), "clients", h.ClientAddr())
		h.loop(ctx, r, ps)
	}
	cancel()
	h.closeListeners()
	wg.Wait()
	h.state.Store(stateDone)
	close(h.stopped)
	h.log.Info("tcpnet: replica stopped")
	return err
}

// start launches the accept loops and one outbound link per peer.
func (h *Host) start(ctx context.Context, wg *sync.WaitGroup, ps *peerSet) error {
	bos := make([]*backoff, len(ps.peers))
	for i, p := range ps.peers {
		if p == nil {
			continue
		}
		var err error
		if bos[i], err = newBackoff(h.opt.MinBackoff, h.opt.MaxBackoff, h.opt.Rand); err != nil {
			return err
		}
	}
	goroutine(wg, func() { h.acceptPeers(ctx, wg) })
	if h.clientL != nil {
		goroutine(wg, func() { h.acceptClients(ctx, wg) })
	}
	for i, p := range ps.peers {
		if p != nil {
			goroutine(wg, func() { h.dial(ctx, p, bos[i]) })
		}
	}
	return nil
}

// loop is the event loop: handle a burst of events, then Flush; Tick on time, and
// then refresh what the peers' readers know of the broker's relay budgets. The
// writers' wake-ups are held during each round (outHold) and released before each
// Step call and at its end.
func (h *Host) loop(ctx context.Context, r *broker.Replica, ps *peerSet) {
	tick := time.NewTicker(h.opt.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ps.in.ready:
			h.out.begin()
			h.drain(r, ps)
		case ev := <-h.inbox:
			h.out.begin()
			ev(r)
			h.drain(r, ps)
		case ev := <-h.clientIn:
			h.out.begin()
			ev(r)
			h.drain(r, ps)
		case <-tick.C:
			h.out.begin()
			r.Tick()
			refreshRelays(r, ps)
		}
		r.Flush()
		h.out.release(true)
	}
}

// drain handles waiting events without blocking, up to drainMax, so that one Flush
// (and one Step per compartment) serves a whole burst. Each round takes one event of
// every peer with one waiting (peerInbox), one client request and one query, so that
// no source waits behind another's backlog (SPEC §13.2).
func (h *Host) drain(r *broker.Replica, ps *peerSet) {
	var evs []func(*broker.Replica)
	for n := 0; n < drainMax; {
		evs = ps.in.round(evs[:0])
		for _, ev := range evs {
			ev(r)
		}
		got := len(evs)
		select {
		case ev := <-h.clientIn:
			ev(r)
			got++
		default:
		}
		select {
		case ev := <-h.inbox:
			ev(r)
			got++
		default:
		}
		if got == 0 {
			return
		}
		n += got
	}
}

// refreshRelays records for every peer whether the broker now drops its relayed
// requests unverified (its budget refills with ticks).
func refreshRelays(r *broker.Replica, ps *peerSet) {
	for _, p := range ps.peers {
		if p != nil {
			p.relayClosed.Store(r.RelayClosed(p.id))
		}
	}
}
