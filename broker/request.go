package broker

import (
	"crypto/ed25519"
	"fmt"
	"math"

	"github.com/splitbft/splitbft/spec"
)

// checkRequest applies the well-formedness rules R1–R5 of SPEC.md §5 with public
// information only. The broker filters with them before starting a timer or
// forwarding, so a faulty client cannot make correct brokers suspect a correct primary
// with requests that prep would reject anyway. Prep checks the same rules itself.
//
// With verify false, R5 (the client signature) is skipped: see acceptRequest.
func checkRequest(cfg *spec.Config, cd spec.Digest, r *spec.Request, verify bool) error {
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
	if verify && !ed25519.Verify(cl.SignKey[:], spec.SignedBytes(spec.DomainRequest, cd, spec.Encode(b)), r.Sig[:]) {
		return fmt.Errorf("R5: bad signature")
	}
	return nil
}

// HandleClient takes an encoded client REQUEST. A request that does not decode or
// fails R1–R5 is dropped and counted. Otherwise its timer starts (unless the request
// is not newer than what the local exec already answered) and it is queued for
// batching if this replica is the primary, or forwarded to the primary's broker.
func (r *Replica) HandleClient(req []byte) {
	var q spec.Request
	if err := spec.Decode(req, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		r.m.BadRequests++
		return
	}
	r.acceptRequest(req, &q, false)
}

// acceptRequest handles a decoded request from a client or (forwarded) a peer broker.
func (r *Replica) acceptRequest(raw []byte, q *spec.Request, forwarded bool) {
	r.m.ClientRequests++
	p := r.primary()
	// A request a peer broker forwarded to us as the primary is only batched (the
	// forwarding broker holds its timer), but it is checked like a client's (SPEC
	// §13.3 obligation 5): a faulty peer broker must not fill the batch queue with
	// junk under real clients' ids, which would use up their budgets.
	relayed := forwarded && p == r.id
	switch {
	case r.staleAtEdge(q):
		r.m.StaleRequests++
		return
	case relayed && r.duplicateAtPrimary(q):
		return
	case !forwarded && !r.admitRate(q.Body.Client):
		r.m.RateDrops++
		return
	}
	// R2 is also checked here (as R4 depends on it): R1–R5 in order.
	if err := checkRequest(r.cfg, r.cd, q, true); err != nil {
		r.m.BadRequests++
		return
	}
	switch {
	case relayed:
		r.addToBatch(q)
	case p == r.id:
		r.startTimer(q)
		r.addToBatch(q)
	case !forwarded:
		r.startTimer(q)
		r.net.Send(p, EncodePeer(spec.KindRequest, raw))
		r.m.PeerOut++
		r.m.Forwarded++
	default:
		r.m.Garbage++ // forwarded to a broker that is not the primary: views disagree
	}
}
