package tcpnet

import "sync"

// outHold holds back the wake-ups of the outbound queues that the event loop fills
// while it handles a burst of events, until the broker is about to wait for a
// compartment (broker.Releaser) or the burst ends. A Step call's messages to one
// peer, and its replies on one client connection, then leave in one write, and the
// writers run while the event loop waits for the compartment: without it each
// writer woke at the first frame and wrote it alone, and each write woke the
// receiver. Frames are queued at once (bounds and drops are unchanged); only the
// signal waits. A frame queued from outside the event loop while it holds is
// released with the others, at the latest when the burst ends; while the loop does
// not hold, a queue is signalled at once.
type outHold struct {
	mu      sync.Mutex
	holding bool
	held    []*queue // queues with frames whose signal is held; each at most once
}

// begin starts holding: the event loop took a burst of events.
func (o *outHold) begin() {
	o.mu.Lock()
	o.holding = true
	o.mu.Unlock()
}

// push queues b on q, signalling q now or when the hold is released, and reports
// whether b fit.
func (o *outHold) push(q *queue, b []byte) bool {
	if !q.pushQuiet(b) {
		return false
	}
	o.mu.Lock()
	if o.holding {
		if !q.isHeld {
			q.isHeld = true
			o.held = append(o.held, q)
		}
		o.mu.Unlock()
		return true
	}
	o.mu.Unlock()
	q.signal()
	return true
}

// release signals every held queue; with end, it also stops holding (the burst is
// over).
func (o *outHold) release(end bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.held {
		q.isHeld = false
		q.signal() // a non-blocking send: safe under the lock
	}
	clear(o.held)
	o.held = o.held[:0]
	if end {
		o.holding = false
	}
}
