package tcpnet

import (
	"sync"

	"github.com/splitbft/splitbft/broker"
)

// peerInbox holds what the peers' readers handed to the event loop, one FIFO per
// peer, served round-robin: each round takes at most one event of every peer with
// one waiting, starting one peer further each round. So a flooding peer delays
// another peer's next message by at most one of its own per round, however much of
// its budget it has waiting (Aardvark's per-source input queues, SPEC §13.2). Each
// peer's queue is bounded by its inBudget, acquired before push, so push never
// blocks.
type peerInbox struct {
	mu    sync.Mutex
	q     [][]func(*broker.Replica) // by replica id
	next  int                       // the peer a round starts with
	ready chan struct{}             // holds a token while some queue may be non-empty
}

func newPeerInbox(n int) *peerInbox {
	return &peerInbox{q: make([][]func(*broker.Replica), n), ready: make(chan struct{}, 1)}
}

// push queues ev for peer i and wakes the event loop.
func (b *peerInbox) push(i int, ev func(*broker.Replica)) {
	b.mu.Lock()
	b.q[i] = append(b.q[i], ev)
	b.mu.Unlock()
	b.signal()
}

func (b *peerInbox) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// round appends to out the oldest event of every peer with one waiting, in
// round-robin order, and removes them. If any remain, the ready token is put back so
// that the event loop comes back for them.
func (b *peerInbox) round(out []func(*broker.Replica)) []func(*broker.Replica) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, left := len(b.q), false
	for k := range n {
		i := (b.next + k) % n
		if len(b.q[i]) == 0 {
			continue
		}
		out = append(out, b.q[i][0])
		b.q[i][0] = nil
		if b.q[i] = b.q[i][1:]; len(b.q[i]) == 0 {
			b.q[i] = nil // let the backing array go
		} else {
			left = true
		}
	}
	b.next = (b.next + 1) % max(n, 1)
	if left {
		b.signal()
	}
	return out
}
