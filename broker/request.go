package broker

import (
	"errors"
	"fmt"
	"math"

	"github.com/splitbft/splitbft/spec"
)

// errBadSignature is checkRequest's error for a request that fails R5 only.
var errBadSignature = errors.New("R5: bad signature")

// checkRequest applies the well-formedness rules R1–R5 of SPEC.md §5 with public
// information only. The broker filters with R1–R4 before starting a timer or
// forwarding, and with R5 before a timer may suspect (SPEC.md §13.3 obligation 5), so a
// faulty client cannot make correct brokers suspect a correct primary with requests
// that prep would reject anyway. Prep checks the same rules itself.
//
// raw is the request's exact encoding (it passed the round-trip gate), whose Body
// part the signature covers. With verify false, R5 (the client signature) is skipped:
// see acceptRequest.
func checkRequest(cfg *spec.Config, cd spec.Digest, raw []byte, r *spec.Request, verify bool) error {
	b := &r.Body
	cl := cfg.Client(b.Client)
	switch {
	case cl == nil:
		return fmt.Errorf("R1: client %d not registered", b.Client)
	case len(b.Ops) == 0 || uint64(len(b.Ops)) > cfg.MaxRequestOps:
		return fmt.Errorf("R2: %d ops", len(b.Ops))
	case b.Timestamp == 0 || b.Timestamp-1 > math.MaxUint64-uint64(len(b.Ops)):
		return fmt.Errorf("R4: timestamp %d with %d ops", b.Timestamp, len(b.Ops))
	}
	for i := range b.Ops {
		if n := uint64(len(b.Ops[i].Ciphertext)); n < 17 || n > cfg.MaxOpBytes {
			return fmt.Errorf("R3: op %d has %d bytes", i, n)
		}
	}
	if verify && !verifyRequest(cl.SignKey, cd, raw, &r.Sig) {
		return errBadSignature
	}
	return nil
}

// HandleClient takes an encoded client REQUEST. A request that does not decode or
// fails R1–R4 (or R5, when acceptRequest checks it on arrival) is dropped and counted. Otherwise its timer starts (unless the request
// is not newer than what the local exec already answered) and it is queued for
// batching if this replica is the primary, or forwarded to the primary's broker.
func (r *Replica) HandleClient(req []byte) {
	var q spec.Request
	if err := spec.Decode(req, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		r.m.BadRequests++
		return
	}
	r.acceptRequest(req, &q, false, 0)
}

// HandleClientDecoded is HandleClient for a request a host already decoded with
// spec.Decode or spec.DecodeShared under the request cap: raw its exact bytes, q their
// decoding. It is not decoded again. q's byte strings may share raw's memory (the
// pending timers keep q): neither may be changed while the broker holds them.
func (r *Replica) HandleClientDecoded(raw []byte, q *spec.Request) {
	r.acceptRequest(raw, q, false, 0)
}

// acceptRequest handles a decoded request from a client or (forwarded) from peer
// broker from (its authenticated replica id; unused for a client's request).
//
// R1–R4 are checked on every request. R5, the client signature and the broker's one
// costly check, is checked on arrival by a backup's broker (before it forwards the
// request or starts its timer: a correct broker never relays junk, so the primary's
// per-peer relay budget is spent only by faulty brokers) and by the primary's broker
// for a relayed request. The primary's broker batches a request from its own client
// port unverified unless its client failed R5 before (sigFailed): prep checks R1–R5
// itself, and correct clients send to the primary, so verifying there too would
// repeat the work that bounds throughput; a request with a bad signature costs prep
// one verification and gets its client's requests verified on arrival from then on
// (onBadSignature). SPEC.md §13.3 obligation 5.
func (r *Replica) acceptRequest(raw []byte, q *spec.Request, forwarded bool, from uint64) {
	r.m.ClientRequests++
	p := r.primary()
	// A request a peer broker forwarded to us as the primary is only batched (the
	// forwarding broker holds its timer), but it is checked like a client's, signature
	// included (SPEC §13.3 obligation 5): a faulty peer broker must not fill the batch
	// queue with junk under real clients' ids, which would use up their budgets.
	relayed := forwarded && p == r.id
	switch {
	case r.staleAtEdge(q):
		r.m.StaleRequests++
		return
	case relayed && r.batch.duplicate(clientTS{q.Body.Client, q.Body.Timestamp}):
		return
	case !forwarded && !r.admitRate(q):
		r.m.RateDrops++
		return
	case relayed && !r.relayOpen(from):
		r.m.RelayDrops++
		return
	}
	// R2 is also checked here (as R4 depends on it): R1–R5 in order.
	verify := relayed || (!forwarded && (p != r.id || r.sigFailed[q.Body.Client]))
	if err := checkRequest(r.cfg, r.cd, raw, q, verify); err != nil {
		if relayed && errors.Is(err, errBadSignature) {
			r.relayFailed(from)
		}
		r.m.BadRequests++
		return
	}
	switch {
	case relayed:
		r.batch.add(raw, q, true)
	case p == r.id:
		r.startTimer(q)
		r.markVerifiedIf(q, verify)
		r.batch.add(raw, q, verify)
	case !forwarded:
		r.startTimer(q)
		r.markVerified(q)
		r.forward(raw)
	default:
		r.m.Garbage++ // forwarded to a broker that is not the primary: views disagree
	}
}

// markVerifiedIf is markVerified when verified.
func (r *Replica) markVerifiedIf(q *spec.Request, verified bool) {
	if verified {
		r.markVerified(q)
	}
}

// markVerified records that the pending request q (if its timer runs) passed R5 on
// arrival, so that its expiry does not verify it again.
func (r *Replica) markVerified(q *spec.Request) {
	if p := r.pending[q.Body.Client]; p != nil && p.req.Body.Timestamp == q.Body.Timestamp {
		p.verified = true
	}
}

// pendingGenuine reports whether the pending request of client c carries c's valid
// signature (R5), verifying it unless it was verified here before. It is asked when
// the request's timer expired (a backup verified it on arrival already, so this is a
// second line of defence) and before a former primary relays it to the new primary
// (onPrepView). One that does not is dropped without a suspicion or a relay, and c's
// requests are verified on arrival from then on.
func (r *Replica) pendingGenuine(c uint64, p *pendingReq) bool {
	if p.verified {
		return true
	}
	cl := r.cfg.Client(c)
	if cl != nil && verifySig(cl.SignKey, spec.DomainRequest, r.cd, spec.Encode(&p.req.Body), &p.req.Sig) {
		p.verified = true
		return true
	}
	delete(r.pending, c)
	r.m.BadRequests++
	if cl != nil {
		r.sigFailed[c] = true
	}
	return false
}

// onBadSignature reacts to prep finding that request j of a client batch this broker
// cut fails R5: its client's requests are verified on arrival from now on, and the
// request no longer counts as ordered or pending, so that the client's genuine request
// with the same timestamp is batched and timed when it comes.
func (r *Replica) onBadSignature(batch []byte, j uint64) {
	raws, err := spec.BatchRequestsRaw(batch)
	if err != nil || j >= uint64(len(raws)) {
		return
	}
	var q spec.Request
	if spec.Decode(raws[j], &q, spec.MaxBodyBytes(spec.KindRequest)) != nil || r.cfg.Client(q.Body.Client) == nil {
		return
	}
	c, ts := q.Body.Client, q.Body.Timestamp
	r.sigFailed[c] = true
	r.batch.unorder(c, ts)
	if p := r.pending[c]; p != nil && p.req.Body.Timestamp == ts && p.req.Sig == q.Sig {
		delete(r.pending, c)
	}
}
