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
// local exec has not executed yet, as far as the last statuses tell.
func (h batchHostOf) inFlight() uint64 {
	p, e := &h.r.status[spec.RolePrep], &h.r.status[spec.RoleExec]
	return uint64(h.r.batchIn) + p.Last - min(p.Last, e.Last)
}

func (h batchHostOf) toPrep(batch []byte, reqs int) {
	h.r.m.Batches++
	h.r.m.Requests += uint64(reqs)
	h.r.enqueue(spec.RolePrep, spec.KindClientBatch, batch)
}

func (h batchHostOf) toPrimary(req []byte) { h.r.forward(req) }

// forward sends an encoded request to the primary's broker.
func (r *Replica) forward(req []byte) {
	r.net.Send(r.primary(), EncodePeer(spec.KindRequest, req))
	r.m.PeerOut++
	r.m.Forwarded++
}

// onPrepView reacts to prep entering a new view: a new primary queues every request
// with a running timer; a backup forwards its queue and those requests to the new
// primary, so that requests do not wait for clients to retransmit.
func (r *Replica) onPrepView() {
	for _, p := range r.pendingSorted() {
		if r.primary() == r.id {
			r.batch.add(spec.Encode(&p.req), &p.req)
		} else {
			r.forward(spec.Encode(&p.req))
		}
	}
	if r.primary() != r.id {
		r.batch.forwardAll()
	}
}
func (h batchHostOf) withdrawn() { h.r.m.BudgetDrops++ }
