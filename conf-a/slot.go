package confa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// slot holds the view-v messages for one sequence number (SPEC.md §10.2).
type slot struct {
	pp *spec.PrePrepare // the primary's PRE-PREPARE, or nil; Body.Replica == primary(v)
	// prepares[r] is the PREPARE of prep r. Invariant: r != primary(v), and every
	// entry has View v and this slot's Seq.
	prepares  map[uint64]spec.Prepare
	committed bool // a COMMIT was signed for this slot in view v
}

// onSlotMessage handles a PRE-PREPARE or PREPARE (kind) with body b and signature sig
// (§10.3, Q1–Q8): it stores it and commits the slot once it is prepared.
func (c *Conf) onSlotMessage(kind uint64, b *spec.Slot, sig spec.Signature) verdict {
	if v := c.checkSlotMessage(kind, b, sig); v.Code != 0 {
		return v
	}
	sl := c.slots[b.Seq]
	if sl == nil {
		sl = &slot{prepares: map[uint64]spec.Prepare{}}
		c.slots[b.Seq] = sl
	}
	if kind == spec.KindPrePrepare {
		sl.pp = &spec.PrePrepare{Body: *b, Sig: sig}
	} else {
		sl.prepares[b.Replica] = spec.Prepare{Body: *b, Sig: sig}
	}
	c.tryCommit(b.Seq, sl)
	return accept
}

// checkSlotMessage applies Q1–Q8 in order.
func (c *Conf) checkSlotMessage(kind uint64, b *spec.Slot, sig spec.Signature) verdict {
	isPP := kind == spec.KindPrePrepare
	domain := spec.DomainPrepare
	if isPP {
		domain = spec.DomainPrePrepare
	}
	switch {
	case b.Replica >= c.n():
		return fail(spec.CodeUnknownSender) // Q1
	case b.View < c.v:
		return fail(spec.CodeStale) // Q2
	case b.View > c.v:
		return fail(spec.CodeWrongView) // Q2
	case !c.active:
		return fail(spec.CodeViewChanging) // Q3
	case isPP != (b.Replica == c.cfg.Primary(c.v)):
		return fail(spec.CodeNotPrimary) // Q4
	case b.Seq <= c.cp.H():
		return fail(spec.CodeStale) // Q5
	case b.Seq-c.cp.H() > c.window():
		return fail(spec.CodeOutOfWindow) // Q5
	case c.isStored(isPP, b, sig):
		// The same message passed Q6 when stored (slots hold view-v messages only), so in
		// rule order it passes Q6–Q7 and fails Q8; skip the signature check of a replay.
		return fail(spec.CodeDuplicate) // Q8
	case !agreea.VerifySender(c.cfg, c.cd, spec.RolePrep, b.Replica, domain, b, sig):
		return fail(spec.CodeBadSignature) // Q6
	}
	if d, ok := c.storedDigest(isPP, b.Seq, b.Replica); ok {
		if d != b.Digest {
			return fail(spec.CodeConflict) // Q7
		}
		return fail(spec.CodeDuplicate) // Q8
	}
	return accept
}

// isStored reports whether exactly this message (body and signature) is stored.
func (c *Conf) isStored(isPP bool, b *spec.Slot, sig spec.Signature) bool {
	sl := c.slots[b.Seq]
	switch {
	case sl == nil:
		return false
	case isPP:
		return sl.pp != nil && sl.pp.Body == *b && sl.pp.Sig == sig
	}
	p, ok := sl.prepares[b.Replica]
	return ok && p.Body == *b && p.Sig == sig
}

// storedDigest returns the digest of the stored message of this kind from r at s.
func (c *Conf) storedDigest(isPP bool, s, r uint64) (spec.Digest, bool) {
	sl := c.slots[s]
	switch {
	case sl == nil:
		return spec.Digest{}, false
	case isPP:
		if sl.pp == nil {
			return spec.Digest{}, false
		}
		return sl.pp.Body.Digest, true
	}
	p, ok := sl.prepares[r]
	return p.Body.Digest, ok
}

// tryCommit commits slot s if it is not committed, holds a PRE-PREPARE with digest d
// and at least 2f PREPAREs with digest d: it records the prepared certificate (the
// 2f matching PREPAREs of the lowest replica ids) in pset, and signs and emits the
// COMMIT to every exec.
func (c *Conf) tryCommit(s uint64, sl *slot) {
	if sl.committed || sl.pp == nil {
		return
	}
	d := sl.pp.Body.Digest
	need := int(2 * c.cfg.F)
	cert := &spec.PreparedCert{Header: *sl.pp}
	for _, r := range agreea.SortedKeys(sl.prepares) {
		if p := sl.prepares[r]; p.Body.Digest == d && len(cert.Prepares) < need {
			cert.Prepares = append(cert.Prepares, p)
		}
	}
	if len(cert.Prepares) < need {
		return
	}
	c.pset[s], sl.committed, c.last = cert, true, max(c.last, s)
	body := spec.Slot{View: c.v, Seq: s, Digest: d, Replica: c.id()}
	cm := spec.Commit{Body: body, Sig: c.key.Sign(spec.DomainCommit, c.cd, spec.Encode(&body))}
	c.broadcast(spec.KindCommit, spec.ToExec, spec.Encode(&cm))
}
