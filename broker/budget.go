package broker

import "github.com/splitbft/splitbft/spec"

// Edge budgets (SPEC §13.3 obligation 4): one client cannot fill the batch queue and
// push out the others' requests, and a request older than what the local exec
// already answered for its client is dropped before its signature is checked.

// budgets is the per-client bookkeeping of the batch queue.
type budgets struct {
	inQueue map[uint64]int // by client: its requests in batchQ (the pairs of queued)
}

func (b *budgets) init() { b.inQueue = map[uint64]int{} }

// overBudget reports whether client c already has Options.ClientQueueLimit requests
// waiting for a batch.
func (r *Replica) overBudget(c uint64) bool { return r.inQueue[c] >= r.opt.ClientQueueLimit }

// queuedAdd and queuedDel keep inQueue in step with batching.queued.
func (r *Replica) queuedAdd(c uint64) { r.inQueue[c]++ }

func (r *Replica) queuedDel(c uint64) {
	if r.inQueue[c]--; r.inQueue[c] <= 0 {
		delete(r.inQueue, c)
	}
}

// queuedClear empties inQueue with batching.queued.
func (r *Replica) queuedClear() { clear(r.inQueue) }

// staleAtEdge reports whether q is older than the newest request of its client the
// local exec answered: exec answers such a request with nothing (SPEC §11.5), so it
// is dropped at once, before the costly signature check. (An equal timestamp passes:
// it may be a retransmission whose replies were lost, which exec answers again.)
func (r *Replica) staleAtEdge(q *spec.Request) bool {
	return q.Body.Timestamp < r.lastDone[q.Body.Client]
}
