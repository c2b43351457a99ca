package tcpnet

import "sync"

// queue is a bounded FIFO of frames with one consumer. push never blocks: a frame
// that would exceed either bound is refused, and the caller counts the drop.
type queue struct {
	mu       sync.Mutex
	items    [][]byte // waiting frames, oldest first; len(items) ≤ maxLen
	bytes    int      // total length of items; ≤ maxBytes
	maxLen   int
	maxBytes int
	// baseLen, baseBytes: the bounds q was made with, which resize multiplies
	baseLen, baseBytes int
	ready              chan struct{} // capacity 1: signalled when items becomes non-empty
	isHeld             bool          // in outHold.held; guarded by that outHold's mu
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{maxLen: maxLen, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push appends b, signals the consumer and reports whether b fit.
func (q *queue) push(b []byte) bool {
	if !q.pushQuiet(b) {
		return false
	}
	q.signal()
	return true
}

// pushQuiet appends b without signalling the consumer (the caller signals later)
// and reports whether it fit.
func (q *queue) pushQuiet(b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.maxLen || q.bytes+len(b) > q.maxBytes {
		return false
	}
	q.items = append(q.items, b)
	q.bytes += len(b)
	return true
}

// signal wakes the consumer (at most one wake-up is pending).
func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// resize sets the bounds to k times those q was made with (k ≥ 1): a client
// connection's reply queue holds one client's bounds per client attached to it.
func (q *queue) resize(k int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.baseLen == 0 {
		q.baseLen, q.baseBytes = q.maxLen, q.maxBytes
	}
	q.maxLen, q.maxBytes = q.baseLen*max(k, 1), q.baseBytes*max(k, 1)
}

// take removes and returns every waiting frame (nil if none).
func (q *queue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items, q.bytes = nil, 0
	return out
}

// len returns the number of waiting frames.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
