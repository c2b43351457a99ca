package broker

import (
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// stillHost is a batchHost whose prep window never opens: the batcher only queues.
type stillHost struct{ drops, withdrawals int }

func (h *stillHost) now() uint64            { return 0 }
func (h *stillHost) isPrimary() bool        { return true }
func (h *stillHost) windowOpen() bool       { return false }
func (h *stillHost) inFlight() uint64       { return 0 }
func (h *stillHost) toPrep([]byte, int)     {}
func (h *stillHost) toPrimary([]byte, bool) {}
func (h *stillHost) dropped()               { h.drops++ }
func (h *stillHost) withdrawn()             { h.withdrawals++ }
func request(c, ts uint64) *spec.Request {
	return &spec.Request{Body: spec.RequestBody{Client: c, Timestamp: ts}}
}
func requestBytes(c, ts uint64) []byte  { return []byte{byte(c), byte(ts)} }
func (b *batcher) entries() []queuedReq { return b.batchQ.Items() }
func countLive(b *batcher, c uint64) (n int) {
	for _, qr := range b.entries() {
		if qr.key.client == c && b.live(qr) {
			n++
		}
	}
	return n
}

// TestBatcherTombstones drives the per-client queue budget (SPEC §13.3 obligation 4)
// with a seeded stream of requests, retransmissions of withdrawn ones included, into a
// queue that is never cut, and checks after every request: every live entry holds a
// distinct request, queued names exactly the live entries, tombs counts exactly the
// withdrawn ones, no client has more than ClientQueueLimit live entries, and a request
// just accepted is live. (A withdrawn entry must stay dead when its request is queued
// again: matching entries by request instead of by entry revived it.)
func TestBatcherTombstones(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 15))
		opt := &Options{BatchQueueLimit: 16, ClientQueueLimit: 2, RequestTimeoutTicks: 1}
		host := &stillHost{}
		b := newBatcher(host, opt)
		for i := 0; i < 400; i++ {
			c, ts := uint64(rng.IntN(3)), uint64(1+rng.IntN(8))
			k := clientTS{c, ts}
			_, was := b.queued[k]
			b.add(requestBytes(c, ts), request(c, ts), false)
			if _, now := b.queued[k]; !was && !now {
				t.Fatalf("seed %d step %d: request %v accepted but not live", seed, i, k)
			}
			checkBatcher(t, &b, opt, seed, i)
		}
	}
}

func checkBatcher(t *testing.T, b *batcher, opt *Options, seed uint64, step int) {
	t.Helper()
	seen := map[clientTS]bool{}
	tombs := 0
	for _, qr := range b.entries() {
		if !b.live(qr) {
			tombs++
			continue
		}
		if seen[qr.key] {
			t.Fatalf("seed %d step %d: request %v has two live entries", seed, step, qr.key)
		}
		seen[qr.key] = true
	}
	if len(seen) != len(b.queued) || tombs != b.tombs {
		t.Fatalf("seed %d step %d: %d live entries, queued holds %d; %d tombstones, tombs says %d",
			seed, step, len(seen), len(b.queued), tombs, b.tombs)
	}
	for c, ts := range b.inQueue {
		if n := countLive(b, c); len(ts) != n || n > opt.ClientQueueLimit {
			t.Fatalf("seed %d step %d: client %d has %d live entries, inQueue %d, limit %d", seed, step, c, n, len(ts), opt.ClientQueueLimit)
		}
	}
}
