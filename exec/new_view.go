package exec

import "github.com/splitbft/splitbft/spec"

// onNewView handles a NEW-VIEW at Execution (SPEC.md §11.6: §10.6 N1–N4 with w > view,
// i.e. §8.6 NV1–NV7; exec does not recompute the O set). Accept: view = w and adopt the
// checkpoint of best if higher (§8.4).
func (e *Exec) onNewView(nv *spec.NewView) uint64 {
	b := &nv.Body
	switch {
	case b.Replica >= e.cfg.N: // N1 = NV1
		return spec.CodeUnknownSender
	case b.Replica != e.cfg.Primary(b.View): // N2 = NV2
		return spec.CodeNotPrimary
	case b.View <= e.view: // N3
		return spec.CodeStale
	case !verifySig(e.key(spec.RolePrep, b.Replica), spec.DomainNewView, e.cd, spec.Encode(b), nv.Sig): // NV3
		return spec.CodeBadSignature
	}
	best, code := e.checkViewChanges(b)
	if code != 0 {
		return code
	}
	if code := e.checkPrePrepares(b, best.Body.Stable.Seq); code != 0 {
		return code
	}
	e.view = b.View
	if best.Body.Stable.Seq > e.ck.h {
		e.makeStable(best.Body.Stable)
	}
	return 0
}

// checkViewChanges applies NV4 and NV5 and returns best: the VIEW-CHANGE with the
// highest Stable.Seq, the lowest replica id among equals (§8.5 step 1).
func (e *Exec) checkViewChanges(b *spec.NewViewBody) (*spec.ViewChange, uint64) {
	v := b.ViewChanges
	if len(v) != e.quorum() { // NV4
		return nil, spec.CodeBadCertificate
	}
	for i := range v {
		if v[i].Body.View != b.View || (i > 0 && v[i].Body.Replica <= v[i-1].Body.Replica) {
			return nil, spec.CodeBadCertificate
		}
	}
	best := &v[0]
	for i := range v { // NV5
		if !e.validViewChange(&v[i]) {
			return nil, spec.CodeBadCertificate
		}
		if v[i].Body.Stable.Seq > best.Body.Stable.Seq {
			best = &v[i]
		}
	}
	return best, 0
}

// checkPrePrepares applies NV6 and NV7 to the O entries, given minS.
func (e *Exec) checkPrePrepares(b *spec.NewViewBody, minS uint64) uint64 {
	o := b.PrePrepares
	if uint64(len(o)) > e.cfg.Window { // NV6
		return spec.CodeBadNewView
	}
	top := addSat(minS, e.cfg.Window)
	for j := range o {
		s := &o[j].Body
		if s.View != b.View || s.Replica != b.Replica || s.Seq <= minS || s.Seq > top ||
			(j > 0 && s.Seq <= o[j-1].Body.Seq) {
			return spec.CodeBadNewView
		}
	}
	for j := range o { // NV7
		if !verifySig(e.key(spec.RolePrep, b.Replica), spec.DomainPrePrepare, e.cd, spec.Encode(&o[j].Body), o[j].Sig) {
			return spec.CodeBadNewView
		}
	}
	return 0
}
