package agreea

import "github.com/splitbft/splitbft/spec"

// CertChecker validates the certificates of SPEC.md §5.1 against one configuration.
// It applies the structural rules at once and queues every signature rule; a
// certificate is valid when its structure is and, afterwards, Verify holds. All rules
// a CertChecker applies to one message share one reject code, so checking the
// structure first and the signatures last gives the verdict of the rules' order.
// Create one with NewCertChecker per message checked.
type CertChecker struct {
	cfg  *spec.Config // the validated configuration; never nil
	jobs []SigJob     // the signature rules queued so far, in rule order
}

// NewCertChecker returns a CertChecker for the validated configuration cfg, with no
// signature queued.
func NewCertChecker(cfg *spec.Config) *CertChecker { return &CertChecker{cfg: cfg} }

// Queue adds the signature rule "sig by the sender's key of (role, r) over body in
// domain" (SenderKey: r < n).
func (cc *CertChecker) Queue(role spec.Role, r uint64, domain string, body any, sig spec.Signature) {
	key := SenderKey(cc.cfg, role, r)
	cc.jobs = append(cc.jobs, SigJob{Key: key, Domain: domain, Body: spec.Encode(body), Sig: sig})
}

// Verify reports whether every queued signature is valid under cd, verified with the
// given parallelism (VerifyEach).
func (cc *CertChecker) Verify(cd spec.Digest, workers int) bool {
	return VerifyAll(cd, cc.jobs, workers)
}

// CheckpointCert applies K1–K4 to c and queues K5.
func (cc *CertChecker) CheckpointCert(c *spec.CheckpointCert) bool {
	if c.Seq == cc.cfg.StartSeq {
		return c.State == cc.cfg.StartState && len(c.Proof) == 0 // K1: the epoch's genesis certificate
	}
	if c.Seq < cc.cfg.StartSeq || c.Seq%cc.cfg.CheckpointInterval != 0 || len(c.Proof) != cc.cfg.Quorum() {
		return false // K2
	}
	for i := range c.Proof {
		b := &c.Proof[i].Body
		if b.Replica >= cc.cfg.N || (i > 0 && b.Replica <= c.Proof[i-1].Body.Replica) {
			return false // K3
		}
		if b.Seq != c.Seq || b.State != c.State {
			return false // K4
		}
		cc.Queue(spec.RoleExec, b.Replica, spec.DomainCheckpoint, b, c.Proof[i].Sig) // K5
	}
	return true
}

// PreparedCert applies C1, C3–C5 to pc and queues C2 and C6.
func (cc *CertChecker) PreparedCert(pc *spec.PreparedCert) bool {
	h := &pc.Header.Body
	if h.Replica != cc.cfg.Primary(h.View) {
		return false // C1
	}
	cc.Queue(spec.RolePrep, h.Replica, spec.DomainPrePrepare, h, pc.Header.Sig) // C2
	if uint64(len(pc.Prepares)) != 2*cc.cfg.F {
		return false // C3
	}
	for i := range pc.Prepares {
		b := &pc.Prepares[i].Body
		if b.Replica >= cc.cfg.N || b.Replica == h.Replica || (i > 0 && b.Replica <= pc.Prepares[i-1].Body.Replica) {
			return false // C4
		}
		if b.View != h.View || b.Seq != h.Seq || b.Digest != h.Digest {
			return false // C5
		}
		cc.Queue(spec.RolePrep, b.Replica, spec.DomainPrepare, b, pc.Prepares[i].Sig) // C6
	}
	return true
}

// ViewChangeBody applies V3–V6 to b, queueing their signatures.
func (cc *CertChecker) ViewChangeBody(b *spec.ViewChangeBody) bool {
	if !cc.CheckpointCert(&b.Stable) {
		return false // V3
	}
	if uint64(len(b.Prepared)) > cc.cfg.Window {
		return false // V4
	}
	for i := range b.Prepared {
		h := &b.Prepared[i].Header.Body
		if i > 0 && h.Seq <= b.Prepared[i-1].Header.Body.Seq {
			return false // V4
		}
		if !InWindow(h.Seq, b.Stable.Seq, cc.cfg.Window) || h.View >= b.View {
			return false // V5
		}
		if !cc.PreparedCert(&b.Prepared[i]) {
			return false // V6
		}
	}
	return true
}

// ViewChange applies V1 and V3–V6 to vc and queues V2: the validity of a VIEW-CHANGE
// carried inside a NEW-VIEW.
func (cc *CertChecker) ViewChange(vc *spec.ViewChange) bool {
	if vc.Body.Replica >= cc.cfg.N {
		return false // V1
	}
	cc.Queue(spec.RoleConf, vc.Body.Replica, spec.DomainViewChange, &vc.Body, vc.Sig) // V2
	return cc.ViewChangeBody(&vc.Body)
}
