package tcpnet

import (
	"context"
	"sync"
	"time"
)

// inBudget bounds what one peer's inbound connections have handed to the event loop
// and the loop has not yet handled: at most maxEvents messages and maxBytes frame
// bytes (SPEC §13.2, bounds of an authenticated connection). A reader over the
// budget waits before reading its next frame, so TCP flow control slows that peer
// alone: a flooding peer holds at most its budget of the shared inbox, never the
// whole of it, and other peers' messages still get in. One message always fits
// when the peer has none waiting, so a frame of the full cap is never refused.
type inBudget struct {
	mu                  sync.Mutex
	events, bytes       int
	maxEvents, maxBytes int
	room                chan struct{} // signalled by every release
}

func newInBudget(maxEvents, maxBytes int) *inBudget {
	return &inBudget{maxEvents: max(maxEvents, 1), maxBytes: maxBytes, room: make(chan struct{}, 1)}
}

// acquire reserves room for one message of n bytes, waiting for releases while the
// peer is over its budget; waited reports whether it had to. It fails only when ctx
// ends.
func (b *inBudget) acquire(ctx context.Context, n int) (waited, ok bool) {
	for {
		if b.tryAcquire(n) {
			return waited, true
		}
		waited = true
		select {
		case <-b.room:
		case <-ctx.Done():
			return waited, false
		}
	}
}

func (b *inBudget) tryAcquire(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.events > 0 && (b.events >= b.maxEvents || b.bytes+n > b.maxBytes) {
		return false
	}
	b.events++
	b.bytes += n
	return true
}

// release returns the room of one handled message of n bytes and wakes a waiting
// reader.
func (b *inBudget) release(n int) {
	b.mu.Lock()
	b.events--
	b.bytes -= n
	b.mu.Unlock()
	select {
	case b.room <- struct{}{}:
	default:
	}
}

// frameRate is a token bucket of frames per second for one peer's inbound
// connections (SPEC §13.2): a reader that has used it up sleeps before handing its
// next frame on, so a peer sending faster than any correct broker does is slowed by
// TCP flow control instead of costing this host decoding and event-loop time.
type frameRate struct {
	mu     sync.Mutex
	rate   float64 // frames per second
	burst  float64
	tokens float64
	at     time.Time
}

func newFrameRate(rate, burst int) *frameRate {
	return &frameRate{rate: float64(max(rate, 1)), burst: float64(max(burst, 1)), tokens: float64(max(burst, 1))}
}

// wait spends one token at now, and returns how long the reader must sleep first
// (zero when a token was left).
func (f *frameRate) wait(now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.at.IsZero() {
		f.tokens = min(f.burst, f.tokens+now.Sub(f.at).Seconds()*f.rate)
	}
	f.at = now
	f.tokens--
	if f.tokens >= 0 {
		return 0
	}
	return time.Duration(-f.tokens / f.rate * float64(time.Second))
}
