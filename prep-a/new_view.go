package prepa

import "github.com/splitbft/splitbft/spec"

// onNewView handles a NEW-VIEW at a prep (SPEC.md §9.7, W1–W6): it validates the
// certificates, re-derives O and requires it to equal the NEW-VIEW's PRE-PREPAREs,
// enters the view and prepares every O entry above h (null batches included).
func (p *Prep) onNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	switch {
	case b.Replica >= p.n():
		return fail(spec.CodeUnknownSender) // W1 (NV1)
	case b.Replica != p.cfg.Primary(b.View) || b.Replica == p.self.Replica:
		return fail(spec.CodeNotPrimary) // W2 (NV2, and never our own view)
	case b.View <= p.v:
		return fail(spec.CodeStale) // W3
	}
	if v := p.checkNewView(nv); v.code != 0 {
		return v // W4, W5
	}
	o := computeO(p.cfg, b.View, b.ViewChanges)
	if !sameSlots(b.PrePrepares, o.slots) {
		return fail(spec.CodeBadNewView) // W6
	}
	p.enterView(b.View, b.ViewChanges, &o)
	if p.isPrimary(b.View) {
		return accept // a primary never prepares its own view's O
	}
	for _, s := range o.slots {
		if s.Seq > p.cp.h {
			p.sendPrepare(s.Seq, s.Digest)
		}
	}
	return accept
}

// checkNewView applies NV3–NV7 (§8.6) to a NEW-VIEW that passed NV1 and NV2.
func (p *Prep) checkNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	if !verifySig(p.enrolledKey(spec.RolePrep, b.Replica), spec.DomainNewView, p.cd, spec.Encode(b), nv.Sig) {
		return fail(spec.CodeBadSignature) // NV3
	}
	if len(b.ViewChanges) != p.q() {
		return fail(spec.CodeBadCertificate) // NV4
	}
	for i := range b.ViewChanges {
		vb := &b.ViewChanges[i].Body
		if vb.View != b.View || (i > 0 && vb.Replica <= b.ViewChanges[i-1].Body.Replica) {
			return fail(spec.CodeBadCertificate) // NV4
		}
	}
	cc := certChecker{cfg: p.cfg}
	for i := range b.ViewChanges {
		if !cc.viewChange(&b.ViewChanges[i]) {
			return fail(spec.CodeBadCertificate) // NV5
		}
	}
	if !cc.verify(p.cd, p.workers) {
		return fail(spec.CodeBadCertificate) // NV5
	}
	if !p.preprepareSetOK(b) {
		return fail(spec.CodeBadNewView) // NV6, NV7
	}
	return accept
}

// preprepareSetOK applies NV6 and NV7 to the PRE-PREPAREs of a NEW-VIEW whose
// view-changes are valid.
func (p *Prep) preprepareSetOK(b *spec.NewViewBody) bool {
	if uint64(len(b.PrePrepares)) > p.window() {
		return false // NV6
	}
	var minS uint64
	for i := range b.ViewChanges {
		minS = max(minS, b.ViewChanges[i].Body.Stable.Seq)
	}
	cc := certChecker{cfg: p.cfg}
	for j := range b.PrePrepares {
		s := &b.PrePrepares[j].Body
		if s.View != b.View || s.Replica != b.Replica || !inWindow(s.Seq, minS, p.window()) ||
			(j > 0 && s.Seq <= b.PrePrepares[j-1].Body.Seq) {
			return false // NV6
		}
		cc.queue(spec.RolePrep, b.Replica, spec.DomainPrePrepare, s, b.PrePrepares[j].Sig) // NV7
	}
	return cc.verify(p.cd, p.workers)
}

// sameSlots reports whether the bodies of pps are exactly slots, in order (W6).
func sameSlots(pps []spec.PrePrepare, slots []spec.Slot) bool {
	if len(pps) != len(slots) {
		return false
	}
	for i := range pps {
		if pps[i].Body != slots[i] {
			return false
		}
	}
	return true
}
