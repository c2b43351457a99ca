package agreeb

import "github.com/splitbft/splitbft/spec"

// This file holds the certificate validity rules of SPEC.md §5.1. Each rule group
// gives a single verdict (every failure inside a message is bad-certificate), so the
// cheap structural lines are checked before the signatures.

// validCheckpointCert checks lines K1–K5. The genesis certificate of K1 is the
// epoch's (StartSeq, StartState) with no proof (SPEC §17.1); every other
// certificate is above StartSeq, at a multiple of K, with q proofs (K2).
func (c *Cluster) validCheckpointCert(cert *spec.CheckpointCert) bool {
	start := c.Cfg.StartSeq
	if cert.Seq == start { // K1: the epoch's genesis certificate
		return cert.State == c.Cfg.StartState && len(cert.Proof) == 0
	}
	if cert.Seq < start || cert.Seq%c.K != 0 || uint64(len(cert.Proof)) != c.Q { // K2
		return false
	}
	for i := range cert.Proof {
		b := &cert.Proof[i].Body
		if b.Replica >= c.N || (i > 0 && b.Replica <= cert.Proof[i-1].Body.Replica) { // K3
			return false
		}
		if b.Seq != cert.Seq || b.State != cert.State { // K4
			return false
		}
	}
	for i := range cert.Proof { // K5
		pr := &cert.Proof[i]
		if !c.Verify(spec.RoleExec, pr.Body.Replica, spec.DomainCheckpoint, &pr.Body, pr.Sig) {
			return false
		}
	}
	return true
}

// validPreparedCert checks lines C1–C6.
func (c *Cluster) validPreparedCert(pc *spec.PreparedCert) bool {
	h := &pc.Header.Body
	if h.Replica != c.Primary(h.View) || uint64(len(pc.Prepares)) != 2*c.F { // C1, C3
		return false
	}
	for i := range pc.Prepares {
		b := &pc.Prepares[i].Body
		if b.Replica >= c.N || b.Replica == h.Replica || (i > 0 && b.Replica <= pc.Prepares[i-1].Body.Replica) { // C4
			return false
		}
		if b.View != h.View || b.Seq != h.Seq || b.Digest != h.Digest { // C5
			return false
		}
	}
	if !c.Verify(spec.RolePrep, h.Replica, spec.DomainPrePrepare, h, pc.Header.Sig) { // C2
		return false
	}
	for i := range pc.Prepares { // C6
		pr := &pc.Prepares[i]
		if !c.Verify(spec.RolePrep, pr.Body.Replica, spec.DomainPrepare, &pr.Body, pr.Sig) {
			return false
		}
	}
	return true
}

// ValidViewChangeContent checks lines V3–V6 of §5.1 on a VIEW-CHANGE whose sender
// and signature (V1, V2) the caller has already checked, and reports whether all
// hold (a failure is bad-certificate).
func (c *Cluster) ValidViewChangeContent(vc *spec.ViewChange) bool {
	b := &vc.Body
	st := b.Stable.Seq
	if uint64(len(b.Prepared)) > c.L { // V4
		return false
	}
	for i := range b.Prepared {
		h := &b.Prepared[i].Header.Body
		if i > 0 && h.Seq <= b.Prepared[i-1].Header.Body.Seq { // V4
			return false
		}
		if h.Seq <= st || h.Seq-st > c.L || h.View >= b.View { // V5
			return false
		}
	}
	if !c.validCheckpointCert(&b.Stable) { // V3
		return false
	}
	for i := range b.Prepared { // V6
		if !c.validPreparedCert(&b.Prepared[i]) {
			return false
		}
	}
	return true
}

// validViewChange checks lines V1–V6 of a VIEW-CHANGE carried inside a NEW-VIEW.
func (c *Cluster) validViewChange(vc *spec.ViewChange) bool {
	r := vc.Body.Replica
	if r >= c.N { // V1
		return false
	}
	if !c.Verify(spec.RoleConf, r, spec.DomainViewChange, &vc.Body, vc.Sig) { // V2
		return false
	}
	return c.ValidViewChangeContent(vc)
}
