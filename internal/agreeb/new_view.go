package agreeb

import "github.com/splitbft/splitbft/spec"

// CheckNewView applies lines NV3–NV7 of SPEC.md §8.6 to a NEW-VIEW whose sender
// lines NV1 and NV2 the caller has already checked, and returns the first failing
// line's code, or 0. It changes nothing.
func (c *Cluster) CheckNewView(nv *spec.NewView) uint64 {
	b := &nv.Body
	if !c.Verify(spec.RolePrep, b.Replica, spec.DomainNewView, b, nv.Sig) { // NV3
		return spec.CodeBadSignature
	}
	vs := b.ViewChanges
	if uint64(len(vs)) != c.Q { // NV4
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
	_, minS := StableBase(vs)
	if !c.validO(b, minS) { // NV6, NV7
		return spec.CodeBadNewView
	}
	return 0
}

// validO applies lines NV6 and NV7 to the PRE-PREPAREs of a NEW-VIEW.
func (c *Cluster) validO(b *spec.NewViewBody, minS uint64) bool {
	o := b.PrePrepares
	if uint64(len(o)) > c.L { // NV6
		return false
	}
	for j := range o {
		e := &o[j].Body
		if e.View != b.View || e.Replica != b.Replica || e.Seq <= minS || e.Seq-minS > c.L { // NV6
			return false
		}
		if j > 0 && e.Seq <= o[j-1].Body.Seq { // NV6
			return false
		}
	}
	for j := range o { // NV7
		if !c.Verify(spec.RolePrep, b.Replica, spec.DomainPrePrepare, &o[j].Body, o[j].Sig) {
			return false
		}
	}
	return true
}

// StableBase returns the index of best in vs and minS = best's Stable.Seq (§8.5
// step 1). vs must be non-empty and sorted by replica id, so the first maximum is
// the lowest id.
func StableBase(vs []spec.ViewChange) (int, uint64) {
	best := 0
	for i := range vs {
		if vs[i].Body.Stable.Seq > vs[best].Body.Stable.Seq {
			best = i
		}
	}
	return best, vs[best].Body.Stable.Seq
}
