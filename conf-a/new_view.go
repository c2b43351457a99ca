package confa

import "github.com/splitbft/splitbft/spec"

// onNewView handles a NEW-VIEW at a conf (SPEC.md §10.6, N1–N4): it validates the
// certificates but does not re-derive O (a wrong entry can never gather the 2f
// PREPAREs a commit needs), enters the view, adopts the checkpoint of best if higher,
// and stores every O entry above h as its slot's PRE-PREPARE.
func (c *Conf) onNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	switch {
	case b.Replica >= c.n():
		return fail(spec.CodeUnknownSender) // N1 (NV1)
	case b.Replica != c.cfg.Primary(b.View):
		return fail(spec.CodeNotPrimary) // N2 (NV2)
	case b.View < c.v || (b.View == c.v && c.active):
		return fail(spec.CodeStale) // N3
	}
	if v := c.checkNewView(nv); v.code != 0 {
		return v // N4
	}
	c.v, c.active = b.View, true
	c.slots = map[uint64]*slot{}
	if best := bestStable(b.ViewChanges); best.Seq > c.cp.h {
		c.stabilize(best)
	}
	for i := range b.PrePrepares {
		if pp := b.PrePrepares[i]; pp.Body.Seq > c.cp.h {
			c.slots[pp.Body.Seq] = &slot{pp: &pp, prepares: map[uint64]spec.Prepare{}}
		}
	}
	return accept
}

// bestStable returns the NEW-VIEW's checkpoint (§8.5 step 1): the highest Stable of
// vcs, from the lowest replica id attaining it (vcs are sorted by replica id).
func bestStable(vcs []spec.ViewChange) *spec.CheckpointCert {
	best := &vcs[0].Body.Stable
	for i := range vcs {
		if vcs[i].Body.Stable.Seq > best.Seq {
			best = &vcs[i].Body.Stable
		}
	}
	return best
}

// checkNewView applies NV3–NV7 (§8.6) to a NEW-VIEW that passed NV1 and NV2.
func (c *Conf) checkNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	if !verifySig(c.enrolledKey(spec.RolePrep, b.Replica), spec.DomainNewView, c.cd, spec.Encode(b), nv.Sig) {
		return fail(spec.CodeBadSignature) // NV3
	}
	if len(b.ViewChanges) != c.q() {
		return fail(spec.CodeBadCertificate) // NV4
	}
	for i := range b.ViewChanges {
		vb := &b.ViewChanges[i].Body
		if vb.View != b.View || (i > 0 && vb.Replica <= b.ViewChanges[i-1].Body.Replica) {
			return fail(spec.CodeBadCertificate) // NV4
		}
	}
	cc := certChecker{cfg: c.cfg}
	for i := range b.ViewChanges {
		if !cc.viewChange(&b.ViewChanges[i]) {
			return fail(spec.CodeBadCertificate) // NV5
		}
	}
	if !cc.verify(c.cd, c.workers) {
		return fail(spec.CodeBadCertificate) // NV5
	}
	if !c.preprepareSetOK(b) {
		return fail(spec.CodeBadNewView) // NV6, NV7
	}
	return accept
}

// preprepareSetOK applies NV6 and NV7 to the PRE-PREPAREs of a NEW-VIEW whose
// view-changes are valid.
func (c *Conf) preprepareSetOK(b *spec.NewViewBody) bool {
	if uint64(len(b.PrePrepares)) > c.window() {
		return false // NV6
	}
	minS := bestStable(b.ViewChanges).Seq
	cc := certChecker{cfg: c.cfg}
	for j := range b.PrePrepares {
		s := &b.PrePrepares[j].Body
		if s.View != b.View || s.Replica != b.Replica || !inWindow(s.Seq, minS, c.window()) ||
			(j > 0 && s.Seq <= b.PrePrepares[j-1].Body.Seq) {
			return false // NV6
		}
		cc.queue(spec.RolePrep, b.Replica, spec.DomainPrePrepare, s, b.PrePrepares[j].Sig) // NV7
	}
	return cc.verify(c.cd, c.workers)
}
