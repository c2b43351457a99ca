package broker

import (
	"github.com/splitbft/splitbft/spec"
)

// batching is the primary broker's batch former (SPEC.md §13.3 obligation 4).
type batching struct {
	batchQ   *fifo[queuedReq]   // requests waiting for a batch, oldest first
	queued   map[clientTS]bool  // exactly the (client, timestamp) pairs in batchQ
	proposed map[uint64]batched // by client: its latest request put in a batch
}

// batched records when a client's request was put in a batch.
type batched struct{ ts, at uint64 }

// clientTS names a request.
type clientTS struct{ client, ts uint64 }

// queuedReq is a request waiting for a batch.
type queuedReq struct {
	req spec.Request
	at  uint64 // tick it was queued
}

func (b *batching) init(opt Options) {
	b.batchQ = newFIFO[queuedReq](opt.BatchQueueLimit)
	b.queued = map[clientTS]bool{}
	b.proposed = map[uint64]batched{}
}

// addToBatch queues a request for the next batch (withdrawing its client's oldest
// queued one beyond Options.ClientQueueLimit) unless the same request is queued,
// or was batched less than a request timeout ago (copies forwarded by several backups,
// or a retransmission racing the original). After that, a copy is ordered again so
// that exec re-sends the cached replies a client may have lost (SPEC.md §11.5).
func (r *Replica) addToBatch(q *spec.Request) {
	k := clientTS{q.Body.Client, q.Body.Timestamp}
	if p, ok := r.proposed[k.client]; r.queued[k] || (ok && p.ts == k.ts && r.now-p.at < uint64(r.opt.RequestTimeoutTicks)) {
		return
	}
	r.makeRoom(k.client)
	r.queued[k] = true
	r.queuedAdd(k.client, k.ts)
	if old, dropped := r.batchQ.Push(queuedReq{req: *q, at: r.now}); dropped && !r.live(old) {
		r.dropTomb()
	} else if dropped {
		delete(r.queued, clientTS{old.req.Body.Client, old.req.Body.Timestamp})
		r.queuedDel(old.req.Body.Client, old.req.Body.Timestamp)
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

// cutBatches delivers batches to prep: every full one, and with timeout also a partial
// one, while prep's window has room. A broker that is not the primary forwards its
// queue to the primary instead.
func (r *Replica) cutBatches(timeout bool) {
	if r.batchQ.Len() == 0 {
		return
	}
	if r.primary() != r.id {
		r.forwardQueued()
		return
	}
	for r.batchQ.Len() > 0 && (timeout || r.batchQ.Len() >= r.opt.BatchSize) && r.windowOpen() {
		r.cutOne()
	}
}

// cutOne takes up to BatchSize queued requests, at most one per client, in queue order,
// and queues them for prep as one client batch.
func (r *Replica) cutOne() {
	var b spec.Batch
	var rest []queuedReq
	seen := map[uint64]bool{}
	for r.batchQ.Len() > 0 {
		qr := r.batchQ.Pop()
		c := qr.req.Body.Client
		if !r.live(qr) {
			r.dropTomb() // withdrawn by makeRoom
			continue
		}
		if seen[c] || len(b.Requests) >= r.opt.BatchSize {
			rest = append(rest, qr)
			continue
		}
		seen[c] = true
		delete(r.queued, clientTS{c, qr.req.Body.Timestamp})
		r.queuedDel(c, qr.req.Body.Timestamp)
		r.proposed[c] = batched{ts: qr.req.Body.Timestamp, at: r.now}
		b.Requests = append(b.Requests, qr.req)
	}
	for _, qr := range rest {
		r.batchQ.Push(qr)
	}
	if len(b.Requests) == 0 {
		return // only withdrawn entries were left
	}
	r.m.Batches++
	r.m.Requests += uint64(len(b.Requests))
	r.enqueue(spec.RolePrep, spec.KindClientBatch, spec.Encode(&b))
}

// requeueBatch puts the requests of a client batch that prep did not order back in
// the queue (or forwards them when this replica is no longer the primary).
func (r *Replica) requeueBatch(body []byte) {
	var b spec.Batch
	if spec.Decode(body, &b, spec.MaxMessageBytes) != nil {
		return
	}
	for i := range b.Requests {
		if p := r.proposed[b.Requests[i].Body.Client]; p.ts == b.Requests[i].Body.Timestamp {
			delete(r.proposed, b.Requests[i].Body.Client) // it was not ordered after all
		}
		r.addToBatch(&b.Requests[i])
	}
}

// forwardQueued sends every queued request to the primary's broker and empties the
// queue.
func (r *Replica) forwardQueued() {
	p := r.primary()
	for _, qr := range r.batchQ.Items() {
		if !r.live(qr) {
			continue // withdrawn by makeRoom
		}
		r.net.Send(p, EncodePeer(spec.KindRequest, spec.Encode(&qr.req)))
		r.m.PeerOut++
		r.m.Forwarded++
	}
	r.batchQ.Reset()
	clear(r.queued)
	r.queuedClear()
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
			r.addToBatch(&p.req)
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
