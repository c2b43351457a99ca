package broker

import "github.com/splitbft/splitbft/spec"

// batchHostOf is the replica as its batcher sees it (batchHost).
type batchHostOf struct{ r *Replica }

func (h batchHostOf) now() uint64     { return h.r.now }
func (h batchHostOf) isPrimary() bool { return h.r.primary() == h.r.id }
func (h batchHostOf) dropped()        { h.r.m.QueueDrops++ }

// windowOpen reports whether prep has a free sequence number for one more batch, as
// far as its last status and the batches already queued for it tell (prep's Last is
// its highest assigned seq, Stable its h; SPEC.md §9.3 B3).
func (h batchHostOf) windowOpen() bool {
	p := &h.r.status[spec.RolePrep]
	return p.Last+uint64(h.r.batchIn) < p.Stable+h.r.cfg.Window
}

// inFlight returns the batches this primary's prep holds or has proposed that the
// local exec has not executed yet, as far as the last statuses tell, or, with a
// Ledger, that are not yet durable: their replies are still held, so the requests
// that arrive meanwhile join the next batch (group commit carried into batching).
func (h batchHostOf) inFlight() uint64 {
	p, e := &h.r.status[spec.RolePrep], &h.r.status[spec.RoleExec]
	done := e.Last
	if l := h.r.opt.Ledger; l != nil {
		done = min(done, l.Durable())
	}
	return uint64(h.r.batchIn) + p.Last - min(p.Last, done)
}

func (h batchHostOf) toPrep(batch []byte, reqs int) {
	h.r.m.Batches++
	h.r.m.Requests += uint64(reqs)
	h.r.enqueue(spec.RolePrep, spec.KindClientBatch, batch)
}

func (h batchHostOf) toPrimary(req []byte, verified bool) { h.r.forwardQueued(req, verified) }

// forwardQueued relays a request this broker queued as the primary to the new
// primary's broker, verifying its signature (R5) first unless it passed R5 here
// already: a correct broker relays only requests that pass R5, so that a relayed bad
// signature proves its relaying broker faulty and spends only a faulty broker's
// relay budget (SPEC §13.3 obligation 5), even for the unverified requests a primary
// batches from its own client port. One that fails is dropped and counted, and its
// client's requests are verified on arrival from then on.
func (r *Replica) forwardQueued(raw []byte, verified bool) {
	if !verified {
		var q spec.Request
		if spec.Decode(raw, &q, spec.MaxBodyBytes(spec.KindRequest)) != nil {
			return // cannot happen: it passed the round-trip gate when it was queued
		}
		if err := checkRequest(r.cfg, r.cd, raw, &q, true); err != nil {
			r.m.BadRequests++
			if r.cfg.Client(q.Body.Client) != nil {
				r.sigFailed[q.Body.Client] = true
			}
			return
		}
	}
	r.forward(raw)
}

// forward sends an encoded request to the primary's broker.
func (r *Replica) forward(req []byte) {
	r.net.Send(r.primary(), EncodePeer(spec.KindRequest, req))
	r.m.PeerOut++
	r.m.Forwarded++
}

// onPrepView reacts to prep entering a new view: a new primary queues every request
// with a running timer; a backup forwards its queue and those requests to the new
// primary, so that requests do not wait for clients to retransmit, but only the
// ones that pass R5 (a former primary did not verify its own clients' requests).
func (r *Replica) onPrepView() {
	for _, p := range r.pendingSorted() {
		switch {
		case r.primary() == r.id:
			r.batch.add(spec.Encode(&p.req), &p.req, p.verified)
		case r.pendingGenuine(p.req.Body.Client, p):
			r.forward(spec.Encode(&p.req))
		}
	}
	if r.primary() != r.id {
		r.batch.forwardAll()
	}
}
func (h batchHostOf) withdrawn() { h.r.m.BudgetDrops++ }
