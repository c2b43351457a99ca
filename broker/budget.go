package broker

import "github.com/splitbft/splitbft/spec"

// Edge budgets (SPEC §13.3 obligation 4): one client cannot fill the batch queue and
// push out the others' requests, and a request older than what the local exec
// already answered for its client is dropped before its signature is checked.

// budgets holds the per-client request budgets of the client port and the per-peer
// budgets of relayed requests (the per-client share of the batch queue is the
// batcher's: makeRoom).
type budgets struct {
	rate   map[uint64]*bucket    // by registered client: its request budget at this broker's client port
	relay  map[uint64]*bucket    // by authenticated peer replica: its budget of relayed requests
	attest map[uint64]*bucket    // by authenticated peer replica: its budget of attest requests
	junk   map[[2]uint64]*bucket // by (authenticated peer replica, local role): its budget of bad signatures there
}

// A peer broker's attest requests (SPEC §17.5) make this replica's exec verify
// evidence, the costliest check an exec makes for a peer (an SGX quote, collateral). A
// correct broker sends one per fresh compartment of its replica, three at most per
// admission, a few per minute even under proactive recovery: attestBurst at once and
// one more every attestEvery ticks (about half a second at the TCP host's 10 ms tick)
// leave it room for retries and renewals and bound what a faulty replica's broker
// makes a correct exec verify (SPEC §13.3 obligation 5).
const (
	attestBurst = 8
	attestEvery = 50
)

// bucket is a token bucket refilled by ticks.
type bucket struct {
	tokens int
	at     uint64 // tick of the last refill
	bad    int    // relay buckets only: relayed requests that failed R5

	// Client buckets only: the newest admitted request, whose answer (an operation
	// timestamp ≥ refundAt) gives its token back once (refund).
	refundAt   uint64
	refundable bool
}

// maxRelayShift caps the slowdown of a peer's relay budget: after k relayed requests
// failed R5, it refills every 2^min(k, maxRelayShift) ticks (1,024 ticks: about 10 s
// at the TCP host's tick).
const maxRelayShift = 10

func (b *budgets) init() {
	b.rate, b.relay, b.attest = map[uint64]*bucket{}, map[uint64]*bucket{}, map[uint64]*bucket{}
	b.junk = map[[2]uint64]*bucket{}
}

// attestOpen spends one of peer broker from's attest tokens; false if none is left.
func (r *Replica) attestOpen(from uint64) bool {
	b := r.attest[from]
	if b == nil {
		b = &bucket{tokens: attestBurst, at: r.now}
		r.attest[from] = b
	}
	return b.take(r.now, attestBurst, 1, attestEvery)
}

// refill adds add tokens to b for every full period of every ticks since its last
// refill, up to burst.
func (b *bucket) refill(now uint64, burst, add, every int) {
	if n := (now - b.at) / uint64(every); n > 0 {
		b.tokens = int(min(uint64(burst), uint64(b.tokens)+n*uint64(add)))
		b.at += n * uint64(every)
	}
}

// take spends one token of b at tick now, after refilling it; false if none is left.
func (b *bucket) take(now uint64, burst, add, every int) bool {
	b.refill(now, burst, add, every)
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}

// admitRate spends one of client c's request tokens at the client port for request
// q: one comes back every Options.ClientTicksPerRequest ticks, and one when the
// newest request admitted from c is answered by this broker (refund), up to
// Options.ClientBurst. A correct client has one request outstanding, so however fast
// the cluster answers it, it never runs out; a flooding client's excess is dropped
// before its signature is checked, so it costs each broker a bounded amount of
// verification (SPEC §13.3 obligation 5): at most one token comes back per request
// admitted and executed, and requests never answered (bad signatures, junk) drain
// it. Only registered clients have a bucket (R1 drops the others right after).
func (r *Replica) admitRate(q *spec.Request) bool {
	c := q.Body.Client
	if r.cfg.Client(c) == nil {
		return true
	}
	b := r.rate[c]
	if b == nil {
		b = &bucket{tokens: r.opt.ClientBurst, at: r.now}
		r.rate[c] = b
	}
	if !b.take(r.now, r.opt.ClientBurst, 1, r.opt.ClientTicksPerRequest) {
		return false
	}
	// Its last operation's timestamp (exec's one reply to the request carries it): an
	// answer at or above it answers the request. R4 rejects a range that overflows.
	b.refundAt, b.refundable = q.Body.Timestamp+uint64(max(len(q.Body.Ops), 1))-1, true
	return true
}

// refund gives client c back one request token (up to Options.ClientBurst) when the
// answer with timestamp ts that this broker sends answers the newest request it
// admitted from c at its client port, once per admitted request (SPEC §13.3
// obligation 5).
func (r *Replica) refund(c, ts uint64) {
	b := r.rate[c]
	if b == nil || !b.refundable || ts < b.refundAt {
		return
	}
	b.refundable = false
	b.tokens = min(b.tokens+1, r.opt.ClientBurst)
}

// relayOpen reports whether peer broker from may have one more relayed request
// verified at this (primary's) broker: its relay budget is not used up. The budget
// is spent only by relayed requests that fail R5 (relayFailed): up to
// Options.PeerRelayBurst at once, refilled by Options.PeerRelayPerTick tokens per
// period, a period being one tick at first and doubling with every relayed request
// of the peer that failed R5, up to 2^maxRelayShift ticks (SPEC §13.3 obligation 5).
// A correct broker verifies every request before relaying it, so a bad signature in
// a relayed request shows its relay faulty: as Aardvark blacklists a replica that
// sends it a bad message, the budget of a peer that relays junk shrinks to one wasted
// verification per 2^maxRelayShift ticks after a few (paced or not), while a correct
// backup relaying its clients' genuine requests never spends a token and is never
// held back. Once a peer's budget is used up, its relayed requests are dropped
// unverified (genuine ones too: the clients of a faulty replica retransmit to all)
// until it refills. from is the authenticated replica id of the connection the
// request came on, never a field of the message.
func (r *Replica) relayOpen(from uint64) bool {
	b := r.relayBucket(from)
	b.refill(r.now, r.opt.PeerRelayBurst, r.opt.PeerRelayPerTick, 1<<min(b.bad, maxRelayShift))
	return b.tokens > 0
}

// RelayClosed reports whether this broker drops the requests peer broker from relays
// without decoding or verifying them: from used up its relay budget (relayOpen) and
// it has not refilled. A host may drop such a peer's relayed requests before it
// decodes them, the cheap check before the costly ones. Like every Replica method it
// must be called from the goroutine that drives the replica.
func (r *Replica) RelayClosed(from uint64) bool {
	if r.relay[from] == nil {
		return false
	}
	return !r.relayOpen(from)
}

// relayFailed spends one of peer broker from's relay tokens, and doubles its refill
// period (relayOpen): a request it relayed failed R5 here.
func (r *Replica) relayFailed(from uint64) {
	b := r.relayBucket(from)
	b.tokens = max(b.tokens-1, 0)
	b.bad++
}

func (r *Replica) relayBucket(from uint64) *bucket {
	b := r.relay[from]
	if b == nil {
		b = &bucket{tokens: r.opt.PeerRelayBurst, at: r.now}
		r.relay[from] = b
	}
	return b
}

// makeRoom keeps client c within Options.ClientQueueLimit before one more of its
// requests is queued: its oldest queued request is withdrawn (its batchQ entry stays
// as a tombstone that cutOne and forwardAll skip). The newest request wins because
// that is the one a backup's timer waits for (SPEC §13.3 obligation 5): a flooding
// client's latest request must still be ordered, or correct backups would suspect a
// correct primary.
func (b *batcher) makeRoom(c uint64) {
	for len(b.inQueue[c]) >= b.opt.ClientQueueLimit {
		k := clientTS{c, b.inQueue[c][0]}
		delete(b.queued, k)
		b.queuedDel(k)
		b.tombs++
		b.host.withdrawn()
	}
	if b.tombs > 0 && b.batchQ.Len() >= b.opt.BatchQueueLimit {
		b.compact()
	}
}

// compact removes the withdrawn entries from a full batchQ, so that they never push
// out another client's live request.
func (b *batcher) compact() {
	items := append([]queuedReq(nil), b.batchQ.Items()...)
	b.batchQ.Reset()
	for _, qr := range items {
		if b.live(qr) {
			b.batchQ.Push(qr)
		}
	}
	b.tombs = 0
}

// dropTomb notes that a withdrawn entry left batchQ.
func (b *batcher) dropTomb() { b.tombs = max(b.tombs-1, 0) }

// queuedAdd and queuedDel keep inQueue in step with queued.
func (b *batcher) queuedAdd(k clientTS) { b.inQueue[k.client] = append(b.inQueue[k.client], k.ts) }

func (b *batcher) queuedDel(k clientTS) {
	l := b.inQueue[k.client]
	for i, x := range l {
		if x == k.ts {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(b.inQueue, k.client)
		return
	}
	b.inQueue[k.client] = l
}

// live reports whether a batchQ entry is still queued: not a withdrawn tombstone, even
// when its request was queued again since (a newer entry then holds the key).
func (b *batcher) live(qr queuedReq) bool {
	seq, ok := b.queued[qr.key]
	return ok && seq == qr.seq
}

// staleAtEdge reports whether every operation of q is older than the newest one of
// its client the local exec answered (exec replies once per request, Reply.Timestamp =
// its last operation's): exec answers such a request with nothing (SPEC §11.5), so it is
// dropped at once, before the costly signature check. A request whose last operation
// is the newest answered passes: it may be a retransmission whose replies were lost,
// which exec answers again from its cache. (A timestamp range that overflows is left
// to R4.)
func (r *Replica) staleAtEdge(q *spec.Request) bool {
	n := uint64(len(q.Body.Ops))
	last := q.Body.Timestamp + n - 1
	return n > 0 && last >= q.Body.Timestamp && last < r.lastDone[q.Body.Client]
}

// junkFailed spends one of peer broker from's tokens at the local compartment role:
// a protocol message it sent failed its signature check there (SPEC §13.3 obligation
// 5). A correct broker sends only what its own compartments signed, so its messages
// fail only around an epoch change (signed under the other epoch's digest), which
// the burst absorbs.
func (r *Replica) junkFailed(from uint64, role spec.Role) {
	b := r.junkBucket(from, role)
	b.tokens = max(b.tokens-1, 0)
}

// junkMask removes from mask the local compartments at which peer broker from used
// up its budget of bad signatures (Options.PeerJunkBurst at once, PeerJunkPerTick
// more per tick), counting each skipped delivery in JunkDrops. A compartment's
// verdicts close only its own deliveries: a faulty local compartment that rejects
// good messages starves itself, not the others.
func (r *Replica) junkMask(from, mask uint64) uint64 {
	for role := spec.RolePrep; role <= spec.RoleExec; role++ {
		b := r.junk[[2]uint64{from, uint64(role)}]
		if b == nil || mask&(1<<role) == 0 {
			continue
		}
		b.refill(r.now, r.opt.PeerJunkBurst, r.opt.PeerJunkPerTick, 1)
		if b.tokens == 0 {
			mask &^= 1 << role
			r.m.JunkDrops++
		}
	}
	return mask
}

func (r *Replica) junkBucket(from uint64, role spec.Role) *bucket {
	k := [2]uint64{from, uint64(role)}
	b := r.junk[k]
	if b == nil {
		b = &bucket{tokens: r.opt.PeerJunkBurst, at: r.now}
		r.junk[k] = b
	}
	b.refill(r.now, r.opt.PeerJunkBurst, r.opt.PeerJunkPerTick, 1)
	return b
}
