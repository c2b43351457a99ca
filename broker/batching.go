package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// batching is the primary broker's batch former (SPEC.md §13.2 obligation 4).
type batching struct {
	batchQ   *fifo[queuedReq]   // requests waiting for a batch, oldest first
	queued   map[clientTS]bool  // exactly the (client, timestamp) pairs in batchQ
	proposed map[uint64]batched // by client: its latest request put in a batch
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
}

func (b *batching) init(opt Options) {
	b.batchQ = newFIFO[queuedReq](opt.BatchQueueLimit)
	b.queued = map[clientTS]bool{}
	b.proposed = map[uint64]batched{}
}

// addToBatch queues a request for the next batch unless the same request is queued,
// or was batched less than a request timeout ago (copies forwarded by several backups,
// or a retransmission racing the original). After that, a copy is ordered again so
// that exec re-sends the cached replies a client may have lost (SPEC.md §11.5).
//
// raw is the request's exact encoding and q its decoding.
func (r *Replica) addToBatch(raw []byte, q *spec.Request) {
	k := clientTS{q.Body.Client, q.Body.Timestamp}
	if p, ok := r.proposed[k.client]; r.queued[k] || (ok && p.ts == k.ts && r.now-p.at < uint64(r.opt.RequestTimeoutTicks)) {
		return
	}
	r.queued[k] = true
	if old, dropped := r.batchQ.Push(queuedReq{raw: raw, key: k, at: r.now}); dropped {
		delete(r.queued, old.key)
		r.m.QueueDrops++
	}
}

// windowOpen reports whether prep has a free sequence number for one more batch, as
// far as its last status and the batches already queued for it tell (prep's Last is
// its highest assigned seq, Stable its h; SPEC.md §9.3 B3).
func (r *Replica) windowOpen() bool {
	p := &r.status[spec.RolePrep]
	return p.Last+uint64(r.batchIn) < p.Stable+r.cfg.Window
}

// inFlight returns the batches this primary's prep holds or has proposed that the
// local exec has not executed yet, as far as the last statuses tell.
func (r *Replica) inFlight() uint64 {
	p, e := &r.status[spec.RolePrep], &r.status[spec.RoleExec]
	return uint64(r.batchIn) + p.Last - min(p.Last, e.Last)
}

// cutBatches delivers batches to prep while prep's window has room: every full one,
// with timeout also a partial one, and a partial one at once while fewer than
// Options.PipelineDepth batches are in flight. So a request reaching an idle pipeline
// waits for no tick, and under load requests gather while earlier batches run. A
// broker that is not the primary forwards its queue to the primary instead.
func (r *Replica) cutBatches(timeout bool) {
	if r.batchQ.Len() == 0 {
		return
	}
	if r.primary() != r.id {
		r.forwardQueued()
		return
	}
	for r.batchQ.Len() > 0 && r.windowOpen() {
		idle := r.inFlight() < uint64(max(r.opt.PipelineDepth, 0))
		if !timeout && !idle && r.batchQ.Len() < r.opt.BatchSize {
			return
		}
		r.cutOne()
	}
}

// cutOne takes up to BatchSize queued requests, at most one per client, in queue order,
// and queues them for prep as one client batch, assembled from their exact bytes.
func (r *Replica) cutOne() {
	var reqs [][]byte
	var rest []queuedReq
	seen := map[uint64]bool{}
	for r.batchQ.Len() > 0 {
		qr := r.batchQ.Pop()
		c := qr.key.client
		if seen[c] || len(reqs) >= r.opt.BatchSize {
			rest = append(rest, qr)
			continue
		}
		seen[c] = true
		delete(r.queued, qr.key)
		r.proposed[c] = batched{ts: qr.key.ts, at: r.now}
		reqs = append(reqs, qr.raw)
	}
	for _, qr := range rest {
		r.batchQ.Push(qr)
	}
	r.m.Batches++
	r.m.Requests += uint64(len(reqs))
	r.enqueue(spec.RolePrep, spec.KindClientBatch, spec.EncodeBatchRaw(reqs))
}

// requeueBatch puts the requests of a client batch that prep did not order back in
// the queue (or forwards them when this replica is no longer the primary). body is a
// batch this broker assembled, split back into its requests' exact bytes.
func (r *Replica) requeueBatch(body []byte) {
	raws, err := spec.BatchRequestsRaw(body)
	if err != nil {
		return
	}
	for _, raw := range raws {
		var q spec.Request
		if spec.Decode(raw, &q, spec.MaxBodyBytes(spec.KindRequest)) != nil {
			continue
		}
		if p := r.proposed[q.Body.Client]; p.ts == q.Body.Timestamp {
			delete(r.proposed, q.Body.Client) // it was not ordered after all
		}
		r.addToBatch(raw, &q)
	}
}

// forwardQueued sends every queued request to the primary's broker and empties the
// queue.
func (r *Replica) forwardQueued() {
	p := r.primary()
	for _, qr := range r.batchQ.Items() {
		r.net.Send(p, EncodePeer(spec.KindRequest, qr.raw))
		r.m.PeerOut++
		r.m.Forwarded++
	}
	r.batchQ.Reset()
	clear(r.queued)
}

// tickBatch cuts a partial batch once the oldest queued request has waited BatchTicks.
func (r *Replica) tickBatch() {
	if r.batchQ.Len() > 0 && r.now-r.batchQ.Peek().at >= uint64(r.opt.BatchTicks) {
		r.cutBatches(true)
	}
}

// onPrepView reacts to prep entering a new view: a new primary queues every request
// with a running timer; a backup forwards its queue and those requests to the new
// primary, so that requests do not wait for clients to retransmit.
func (r *Replica) onPrepView() {
	for _, p := range r.pendingSorted() {
		if r.primary() == r.id {
			r.addToBatch(spec.Encode(&p.req), &p.req)
		} else {
			r.net.Send(r.primary(), EncodePeer(spec.KindRequest, spec.Encode(&p.req)))
			r.m.PeerOut++
			r.m.Forwarded++
		}
	}
	if r.primary() != r.id {
		r.forwardQueued()
	}
}
