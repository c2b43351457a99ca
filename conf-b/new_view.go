package confb

import "github.com/splitbft/splitbft/spec"

// onNewView handles a NEW-VIEW (§10.6): lines N1–N4, then enter view w, adopt the
// checkpoint of best if higher, and install every O entry above h as its slot's
// PRE-PREPARE. Conf does not recompute O (§8.6).
func (x *Confirmation) onNewView(nv *spec.NewView) uint64 {
	c := x.cl
	b := &nv.Body
	switch {
	case b.Replica >= c.n: // N1 (NV1)
		return spec.CodeUnknownSender
	case b.Replica != c.primary(b.View): // N2 (NV2)
		return spec.CodeNotPrimary
	case b.View < x.view || (b.View == x.view && x.active): // N3
		return spec.CodeStale
	}
	if code := c.checkNewView(nv); code != 0 { // N4 (NV3–NV7)
		return code
	}
	x.view, x.active = b.View, true
	x.slots = map[uint64]*slot{}
	bi, _ := stableBase(b.ViewChanges)
	if x.cps.adopt(&b.ViewChanges[bi].Body.Stable) {
		x.onStable()
	}
	for _, pp := range b.PrePrepares {
		if pp.Body.Seq > x.cps.h {
			x.slotAt(pp.Body.Seq).prePrepare = &pp
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

// stableBase returns the index of best in vs and minS (§8.5 step 1). vs must be
// non-empty and sorted by replica id, so the first maximum is the lowest id.
func stableBase(vs []spec.ViewChange) (int, uint64) {
	best := 0
	for i := range vs {
		if vs[i].Body.Stable.Seq > vs[best].Body.Stable.Seq {
			best = i
		}
	}
	return best, vs[best].Body.Stable.Seq
}
