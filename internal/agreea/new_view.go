package agreea

import "github.com/splitbft/splitbft/spec"

// CheckNewView applies NV3–NV7 (SPEC.md §8.6), in order, to a NEW-VIEW that passed
// NV1 and NV2, under the validated configuration cfg with digest cd, verifying
// certificate signatures with the given parallelism (VerifyEach). It returns 0 or
// the reject code of the first line nv fails. NV1, NV2 and what a role requires
// beyond §8.6 (prep's W6) are the caller's.
func CheckNewView(cfg *spec.Config, cd spec.Digest, workers int, nv *spec.NewView) uint64 {
	b := &nv.Body
	if !VerifySender(cfg, cd, spec.RolePrep, b.Replica, spec.DomainNewView, b, nv.Sig) {
		return spec.CodeBadSignature // NV3
	}
	if len(b.ViewChanges) != cfg.Quorum() {
		return spec.CodeBadCertificate // NV4
	}
	for i := range b.ViewChanges {
		vb := &b.ViewChanges[i].Body
		if vb.View != b.View || (i > 0 && vb.Replica <= b.ViewChanges[i-1].Body.Replica) {
			return spec.CodeBadCertificate // NV4
		}
	}
	cc := NewCertChecker(cfg)
	for i := range b.ViewChanges {
		if !cc.ViewChange(&b.ViewChanges[i]) {
			return spec.CodeBadCertificate // NV5
		}
	}
	if !cc.Verify(cd, workers) {
		return spec.CodeBadCertificate // NV5
	}
	if !prePrepareSetOK(cfg, cd, workers, b) {
		return spec.CodeBadNewView // NV6, NV7
	}
	return 0
}

// prePrepareSetOK applies NV6 and NV7 to the PRE-PREPAREs of a NEW-VIEW whose
// view-changes passed NV4 and NV5 (so there are q ≥ 1 of them).
func prePrepareSetOK(cfg *spec.Config, cd spec.Digest, workers int, b *spec.NewViewBody) bool {
	if uint64(len(b.PrePrepares)) > cfg.Window {
		return false // NV6
	}
	minS := b.ViewChanges[BestStable(b.ViewChanges)].Body.Stable.Seq
	cc := NewCertChecker(cfg)
	for j := range b.PrePrepares {
		s := &b.PrePrepares[j].Body
		if s.View != b.View || s.Replica != b.Replica || !InWindow(s.Seq, minS, cfg.Window) ||
			(j > 0 && s.Seq <= b.PrePrepares[j-1].Body.Seq) {
			return false // NV6
		}
		cc.Queue(spec.RolePrep, b.Replica, spec.DomainPrePrepare, s, b.PrePrepares[j].Sig) // NV7
	}
	return cc.Verify(cd, workers)
}

// BestStable returns the index in vcs of "best" (SPEC.md §8.5 step 1): the
// VIEW-CHANGE with the highest Stable.Seq (minS), the first one attaining it, which
// is the lowest replica id when vcs are sorted by replica id, as a NEW-VIEW's are. Its
// Stable certificate is the NEW-VIEW's checkpoint. For an empty vcs it returns 0.
func BestStable(vcs []spec.ViewChange) int {
	best := 0
	for i := range vcs {
		if vcs[i].Body.Stable.Seq > vcs[best].Body.Stable.Seq {
			best = i
		}
	}
	return best
}
