package tcpnet

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// backoff is a jittered exponential reconnection delay between min and max. Its
// randomness is its own ChaCha8 stream seeded at creation (from crypto/rand, or a
// reader the caller supplies for reproducible tests), never the global math/rand.
// It is not safe for concurrent use: each link owns one.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the next delay's upper bound; min ≤ cur ≤ max
	rng      *rand.Rand
}

// newBackoff reads a 32-byte seed from seed.
func newBackoff(min, max time.Duration, seed io.Reader) (*backoff, error) {
	var s [32]byte
	if _, err := io.ReadFull(seed, s[:]); err != nil {
		return nil, fmt.Errorf("tcpnet: seeding back-off jitter: %w", err)
	}
	return &backoff{min: min, max: max, cur: min, rng: rand.New(rand.NewChaCha8(s))}, nil
}

// next returns a delay drawn uniformly from [cur/2, cur] and doubles cur up to max.
func (b *backoff) next() time.Duration {
	half := b.cur / 2
	d := half + time.Duration(b.rng.Int64N(int64(b.cur-half)+1))
	b.cur = min(2*b.cur, b.max)
	return d
}

// reset returns the delay to min.
func (b *backoff) reset() { b.cur = b.min }

// ended notes that a connection which lived for lived has ended: one that lasted at
// least max resets the delay, so a peer that accepts and at once drops connections is
// redialled ever more slowly, while one lost after a healthy run is redialled soon.
func (b *backoff) ended(lived time.Duration) {
	if lived >= b.max {
		b.reset()
	}
}

// wait sleeps for the next delay; it reports false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool { return sleepCtx(ctx, b.next()) }
