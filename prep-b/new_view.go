package prepb

import "github.com/splitbft/splitbft/spec"

// onNewView handles a NEW-VIEW at a prep that is not its primary (§9.7): lines
// W1–W6, then enter view w and emit a PREPARE for every O entry above h.
func (p *Preparation) onNewView(out *outputs, nv *spec.NewView) uint64 {
	c := p.cl
	b := &nv.Body
	switch {
	case b.Replica >= c.n: // W1 (NV1)
		return spec.CodeUnknownSender
	case b.Replica != c.primary(b.View), b.Replica == p.self.Replica: // W2 (NV2; not for a view we lead)
		return spec.CodeNotPrimary
	case b.View <= p.view: // W3
		return spec.CodeStale
	}
	if code := c.checkNewView(nv); code != 0 { // W4, W5 (NV3–NV7)
		return code
	}
	plan := planNewView(b.View, b.Replica, b.ViewChanges)
	if !sameO(plan.o, b.PrePrepares) { // W6
		return spec.CodeBadNewView
	}
	p.enterView(b.View, &plan)
	for _, e := range plan.o {
		if e.Seq > p.cps.h {
			p.sendPrepare(out, e.Seq, e.Digest)
		}
	}
	return 0
}

// checkNewView applies lines NV3–NV7 of §8.6 to a NEW-VIEW whose sender lines NV1
// and NV2 hold, and returns the first failing line's code.
func (c *cluster) checkNewView(nv *spec.NewView) uint64 {
	b := &nv.Body
	if !c.verify(spec.RolePrep, b.Replica, spec.DomainNewView, b, nv.Sig) { // NV3
		return spec.CodeBadSignature
	}
	vs := b.ViewChanges
	if uint64(len(vs)) != c.q { // NV4
		return spec.CodeBadCertificate
	}
	for i := range vs {
		if vs[i].Body.View != b.View || (i > 0 && vs[i].Body.Replica <= vs[i-1].Body.Replica) { // NV4
			return spec.CodeBadCertificate
		}
	}
	for i := range vs { // NV5
		if !c.validViewChange(&vs[i]) {
			return spec.CodeBadCertificate
		}
	}
	_, minS := stableBase(vs)
	if !c.validO(b, minS) { // NV6, NV7
		return spec.CodeBadNewView
	}
	return 0
}

// validO applies lines NV6 and NV7 to the PRE-PREPAREs of a NEW-VIEW.
func (c *cluster) validO(b *spec.NewViewBody, minS uint64) bool {
	o := b.PrePrepares
	if uint64(len(o)) > c.l { // NV6
		return false
	}
	for j := range o {
		e := &o[j].Body
		if e.View != b.View || e.Replica != b.Replica || e.Seq <= minS || e.Seq-minS > c.l { // NV6
			return false
		}
		if j > 0 && e.Seq <= o[j-1].Body.Seq { // NV6
			return false
		}
	}
	for j := range o { // NV7
		if !c.verify(spec.RolePrep, b.Replica, spec.DomainPrePrepare, &o[j].Body, o[j].Sig) {
			return false
		}
	}
	return true
}

// sameO reports whether the bodies of pps equal the recomputed O entries (W6).
func sameO(o []spec.Slot, pps []spec.PrePrepare) bool {
	if len(o) != len(pps) {
		return false
	}
	for i := range o {
		if o[i] != pps[i].Body {
			return false
		}
	}
	return true
}
