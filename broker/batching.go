package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// batcher is the primary broker's batch former (SPEC.md §13.3 obligation 4): it queues
// requests, cuts client batches for prep, and takes back the ones prep did not order.
// It reaches its replica only through batchHost.
type batcher struct {
	host     batchHost
	opt      *Options
	batchQ   *fifo[queuedReq]    // requests waiting for a batch, oldest first (and withdrawn tombstones)
	queued   map[clientTS]uint64 // the live entries of batchQ: (client, timestamp) → the entry's seq
	proposed map[uint64]batched  // by client: its latest request put in a batch
	inQueue  map[uint64][]uint64 // by client: timestamps of its live requests in batchQ, oldest first
	tombs    int                 // withdrawn entries still in batchQ (entries whose seq queued does not hold)
	seq      uint64              // the last entry number given out
}

// batchHost is what the batch former needs from its replica.
type batchHost interface {
	now() uint64                         // ticks so far
	isPrimary() bool                     // this replica is the primary of its prep's view
	windowOpen() bool                    // prep has a free sequence number for one more batch
	inFlight() uint64                    // batches prep holds or proposed that exec has not executed
	toPrep(batch []byte, reqs int)       // deliver a client batch of reqs requests to prep
	toPrimary(req []byte, verified bool) // forward a request to the primary's broker (verified: it passed R5 here)
	dropped()                            // count an item dropped from a full queue
	withdrawn()                          // count a request withdrawn by its client's queue budget
}

// batched records when a client's request was put in a batch.
type batched struct{ ts, at uint64 }

// clientTS names a request.
type clientTS struct{ client, ts uint64 }

// queuedReq is a request waiting for a batch, kept as the exact bytes received (which
// passed the round-trip gate): batches are assembled from them by concatenation.
type queuedReq struct {
	raw []byte
	key clientTS
	at  uint64 // tick it was queued
	seq uint64 // entry number: the entry is live while queued[key] == seq
	// verified: its client signature passed R5 at this broker (a relayed request, or
	// one whose client failed R5 before); a request from this primary's own client
	// port usually did not (SPEC §13.3 obligation 5).
	verified bool
}

func newBatcher(host batchHost, opt *Options) batcher {
	return batcher{host: host, opt: opt, batchQ: newFIFO[queuedReq](opt.BatchQueueLimit),
		queued: map[clientTS]uint64{}, proposed: map[uint64]batched{}, inQueue: map[uint64][]uint64{}}
}

// add queues a request for the next batch (withdrawing its client's oldest queued one
// beyond Options.ClientQueueLimit) unless it is a duplicate. After a request timeout, a
// copy is ordered again so that exec re-sends the cached replies a client may have
// lost (SPEC.md §11.5).
//
// raw is the request's exact encoding and q its decoding; verified says whether it
// passed R5 at this broker.
func (b *batcher) add(raw []byte, q *spec.Request, verified bool) {
	k := clientTS{q.Body.Client, q.Body.Timestamp}
	if b.duplicate(k) {
		return
	}
	b.makeRoom(k.client)
	b.seq++
	b.queued[k] = b.seq
	b.queuedAdd(k)
	if old, dropped := b.batchQ.Push(queuedReq{raw: raw, key: k, at: b.host.now(), seq: b.seq, verified: verified}); dropped && !b.live(old) {
		b.dropTomb()
	} else if dropped {
		delete(b.queued, old.key)
		b.queuedDel(old.key)
		b.host.dropped()
	}
}

// duplicate reports whether request k is queued, or was batched less than a request
// timeout ago (copies forwarded by several backups, or a retransmission racing the
// original): add drops it, and the primary drops such a relayed copy before checking
// its signature again.
func (b *batcher) duplicate(k clientTS) bool {
	p, ok := b.proposed[k.client]
	_, queued := b.queued[k]
	return queued || (ok && p.ts == k.ts && b.host.now()-p.at < uint64(b.opt.RequestTimeoutTicks))
}

// cut delivers batches to prep while prep's window has room: every full one, with
// timeout also a partial one, and a partial one at once while fewer than
// Options.PipelineDepth batches are in flight. So a request reaching an idle pipeline
// waits for no tick, and under load requests gather while earlier batches run. A
// broker that is not the primary forwards its queue to the primary instead.
func (b *batcher) cut(timeout bool) {
	if b.batchQ.Len() == 0 {
		return
	}
	if !b.host.isPrimary() {
		b.forwardAll()
		return
	}
	for b.batchQ.Len() > 0 && b.host.windowOpen() {
		idle := b.host.inFlight() < uint64(max(b.opt.PipelineDepth, 0))
		if !timeout && !idle && b.batchQ.Len() < b.opt.BatchSize {
			return
		}
		b.cutOne()
	}
}

// cutOne takes up to BatchSize queued requests, at most one per client, in queue order,
// and delivers them to prep as one client batch, assembled from their exact bytes.
func (b *batcher) cutOne() {
	var reqs [][]byte
	var rest []queuedReq
	seen := map[uint64]bool{}
	now := b.host.now()
	for b.batchQ.Len() > 0 {
		qr := b.batchQ.Pop()
		c := qr.key.client
		if !b.live(qr) {
			b.dropTomb() // withdrawn by makeRoom
			continue
		}
		if seen[c] || len(reqs) >= b.opt.BatchSize {
			rest = append(rest, qr)
			continue
		}
		seen[c] = true
		delete(b.queued, qr.key)
		b.queuedDel(qr.key)
		b.proposed[c] = batched{ts: qr.key.ts, at: now}
		reqs = append(reqs, qr.raw)
	}
	for _, qr := range rest {
		b.batchQ.Push(qr)
	}
	if len(reqs) == 0 {
		return // only withdrawn entries were left
	}
	b.host.toPrep(spec.EncodeBatchRaw(reqs), len(reqs))
}

// requeue puts the requests of a client batch that prep did not order back in the
// queue (to be forwarded when this replica is no longer the primary). body is a batch
// this batcher assembled, split back into its requests' exact bytes.
func (b *batcher) requeue(body []byte) {
	raws, err := spec.BatchRequestsRaw(body)
	if err != nil {
		return
	}
	for _, raw := range raws {
		var q spec.Request
		if spec.Decode(raw, &q, spec.MaxBodyBytes(spec.KindRequest)) != nil {
			continue
		}
		b.unorder(q.Body.Client, q.Body.Timestamp) // it was not ordered after all
		b.add(raw, &q, false)
	}
}

// unorder forgets that client c's request ts was put in a batch, so that a copy of it
// is batched again when it comes.
func (b *batcher) unorder(c, ts uint64) {
	if p, ok := b.proposed[c]; ok && p.ts == ts {
		delete(b.proposed, c)
	}
}

// forwardAll sends every queued request to the primary's broker (toPrimary verifies
// the ones that did not pass R5 here) and empties the queue.
func (b *batcher) forwardAll() {
	for _, qr := range b.batchQ.Items() {
		if b.live(qr) { // not withdrawn by makeRoom
			b.host.toPrimary(qr.raw, qr.verified)
		}
	}
	b.batchQ.Reset()
	clear(b.queued)
	clear(b.inQueue)
	b.tombs = 0
}

// tick cuts a partial batch once the oldest queued request has waited BatchTicks.
func (b *batcher) tick() {
	if b.batchQ.Len() > 0 && b.host.now()-b.batchQ.Peek().at >= uint64(b.opt.BatchTicks) {
		b.cut(true)
	}
}

// Len returns the number of requests waiting for a batch.
func (b *batcher) Len() int { return b.batchQ.Len() }
