package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// slot is the agreement state of one sequence number in the current view (§10.2).
type slot struct {
	// prePrepare is the primary's PRE-PREPARE for the slot, if any: received
	// directly or installed from a NEW-VIEW's O set.
	prePrepare *spec.PrePrepare
	// prepares[r] is the PREPARE accepted from prep r ≠ primary(v), at most one each.
	prepares map[uint64]*spec.Prepare
	// committed is set once this conf formed the prepared certificate and signed
	// its COMMIT; it never clears while the slot exists.
	committed bool
}

// onPrePrepare handles a PRE-PREPARE (§10.3): lines Q1–Q8, store, try to commit.
func (x *Confirmation) onPrePrepare(out *agreeb.Outputs, m *spec.PrePrepare) uint64 {
	b := &m.Body
	if code := x.checkSlotMessage(b, true, spec.DomainPrePrepare, m.Sig); code != 0 {
		return code
	}
	if sl := x.slots[b.Seq]; sl != nil && sl.prePrepare != nil {
		return sameDigest(sl.prePrepare.Body.Digest, b.Digest) // Q7, Q8
	}
	x.slotAt(b.Seq).prePrepare = m
	x.tryCommit(out, b.Seq)
	return 0
}

// onPrepare handles a PREPARE (§10.3): lines Q1–Q8, store, try to commit.
func (x *Confirmation) onPrepare(out *agreeb.Outputs, m *spec.Prepare) uint64 {
	b := &m.Body
	if code := x.checkSlotMessage(b, false, spec.DomainPrepare, m.Sig); code != 0 {
		return code
	}
	if sl := x.slots[b.Seq]; sl != nil && sl.prepares[b.Replica] != nil {
		return sameDigest(sl.prepares[b.Replica].Body.Digest, b.Digest) // Q7, Q8
	}
	x.slotAt(b.Seq).prepares[b.Replica] = m
	x.tryCommit(out, b.Seq)
	return 0
}

// sameDigest is the verdict of Q7 and Q8 when the slot already holds a message of
// the kind from the sender: conflict for another digest, else duplicate.
func sameDigest(held, got spec.Digest) uint64 {
	if held != got {
		return spec.CodeConflict // Q7
	}
	return spec.CodeDuplicate // Q8
}

// checkSlotMessage applies lines Q1–Q6 to the body of a PRE-PREPARE (fromPrimary)
// or a PREPARE, signed under domain.
func (x *Confirmation) checkSlotMessage(b *spec.Slot, fromPrimary bool, domain string, sig spec.Signature) uint64 {
	c := x.cl
	switch {
	case b.Replica >= c.N: // Q1
		return spec.CodeUnknownSender
	case b.View < x.view: // Q2
		return spec.CodeStale
	case b.View > x.view: // Q2
		return spec.CodeWrongView
	case !x.active: // Q3
		return spec.CodeViewChanging
	case (b.Replica == c.Primary(x.view)) != fromPrimary: // Q4
		return spec.CodeNotPrimary
	case b.Seq <= x.cps.H(): // Q5
		return spec.CodeStale
	case b.Seq-x.cps.H() > c.L: // Q5
		return spec.CodeOutOfWindow
	case !c.Verify(spec.RolePrep, b.Replica, domain, b, sig): // Q6
		return spec.CodeBadSignature
	}
	return 0
}

// slotAt returns the slot for seq, creating it empty. Only called on acceptance.
func (x *Confirmation) slotAt(seq uint64) *slot {
	sl := x.slots[seq]
	if sl == nil {
		sl = &slot{prepares: map[uint64]*spec.Prepare{}}
		x.slots[seq] = sl
	}
	return sl
}

// tryCommit forms the prepared certificate of slot seq once it holds a PRE-PREPARE
// with digest d and 2f PREPAREs with digest d and is not committed yet: the
// certificate takes the matching PREPAREs of the lowest replica ids; it becomes
// pset[seq], and the COMMIT (v, seq, d, i) goes to every exec (§10.3).
func (x *Confirmation) tryCommit(out *agreeb.Outputs, seq uint64) {
	c := x.cl
	sl := x.slots[seq]
	if sl.committed || sl.prePrepare == nil {
		return
	}
	d := sl.prePrepare.Body.Digest
	var prs []spec.Prepare
	for _, r := range agreeb.SortedKeys(sl.prepares) {
		if pr := sl.prepares[r]; pr.Body.Digest == d && uint64(len(prs)) < 2*c.F {
			prs = append(prs, *pr)
		}
	}
	if uint64(len(prs)) < 2*c.F {
		return
	}
	x.pset[seq] = &spec.PreparedCert{Header: *sl.prePrepare, Prepares: prs}
	sl.committed = true
	x.last = max(x.last, seq)
	body := spec.Slot{View: x.view, Seq: seq, Digest: d, Replica: x.id.Replica()}
	cm := spec.Commit{Body: body, Sig: x.id.Sign(spec.DomainCommit, c.CD, &body)}
	out.Send(spec.KindCommit, spec.ToExec, c.AllReplicas(), &cm)
}
