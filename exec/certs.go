package exec

import "github.com/splitbft/splitbft/spec"

// This file validates the certificates of SPEC.md §5.1 carried inside NEW-VIEWs:
// checkpoint certificates (K1–K5), prepared certificates (C1–C6) and VIEW-CHANGEs
// (V1–V6). Each function only reads state.

// validCheckpointCert applies K1–K5.
func (e *Exec) validCheckpointCert(c *spec.CheckpointCert) bool {
	if c.Seq == e.cfg.StartSeq { // K1: the epoch's genesis certificate (§17.1)
		return c.State == e.cfg.StartState && len(c.Proof) == 0
	}
	if c.Seq < e.cfg.StartSeq || c.Seq%e.cfg.CheckpointInterval != 0 || len(c.Proof) != e.quorum() { // K2
		return false
	}
	for i := range c.Proof {
		b := &c.Proof[i].Body
		if b.Replica >= e.cfg.N || (i > 0 && b.Replica <= c.Proof[i-1].Body.Replica) { // K3
			return false
		}
		if b.Seq != c.Seq || b.State != c.State { // K4
			return false
		}
	}
	for i := range c.Proof { // K5
		b := &c.Proof[i].Body
		if !verifySig(e.key(spec.RoleExec, b.Replica), spec.DomainCheckpoint, e.cd, spec.Encode(b), c.Proof[i].Sig) {
			return false
		}
	}
	return true
}

// validPreparedCert applies C1–C6.
func (e *Exec) validPreparedCert(p *spec.PreparedCert) bool {
	h := &p.Header.Body
	if h.Replica != e.cfg.Primary(h.View) { // C1
		return false
	}
	if !verifySig(e.key(spec.RolePrep, h.Replica), spec.DomainPrePrepare, e.cd, spec.Encode(h), p.Header.Sig) { // C2
		return false
	}
	if uint64(len(p.Prepares)) != 2*e.cfg.F { // C3
		return false
	}
	for i := range p.Prepares {
		b := &p.Prepares[i].Body
		if b.Replica >= e.cfg.N || b.Replica == h.Replica || (i > 0 && b.Replica <= p.Prepares[i-1].Body.Replica) { // C4
			return false
		}
		if b.View != h.View || b.Seq != h.Seq || b.Digest != h.Digest { // C5
			return false
		}
	}
	for i := range p.Prepares { // C6
		b := &p.Prepares[i].Body
		if !verifySig(e.key(spec.RolePrep, b.Replica), spec.DomainPrepare, e.cd, spec.Encode(b), p.Prepares[i].Sig) {
			return false
		}
	}
	return true
}

// validViewChange applies V1–V6.
func (e *Exec) validViewChange(vc *spec.ViewChange) bool {
	b := &vc.Body
	if b.Replica >= e.cfg.N { // V1
		return false
	}
	if !verifySig(e.key(spec.RoleConf, b.Replica), spec.DomainViewChange, e.cd, spec.Encode(b), vc.Sig) { // V2
		return false
	}
	if !e.validCheckpointCert(&b.Stable) { // V3
		return false
	}
	if uint64(len(b.Prepared)) > e.cfg.Window { // V4
		return false
	}
	top := addSat(b.Stable.Seq, e.cfg.Window)
	for i := range b.Prepared {
		h := &b.Prepared[i].Header.Body
		if i > 0 && h.Seq <= b.Prepared[i-1].Header.Body.Seq { // V4
			return false
		}
		if h.Seq <= b.Stable.Seq || h.Seq > top || h.View >= b.View { // V5
			return false
		}
	}
	for i := range b.Prepared { // V6
		if !e.validPreparedCert(&b.Prepared[i]) {
			return false
		}
	}
	return true
}
