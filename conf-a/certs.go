package confa

import "github.com/splitbft/splitbft/spec"

// certChecker validates the certificates of SPEC.md §5.1 against the configuration.
// It applies the structural rules at once and queues every signature rule in jobs;
// a certificate is valid when its structure is and, afterwards, verify() holds. All
// rules a certChecker applies to one message share one reject code, so checking the
// structure first and the signatures last gives the verdict of the rules' order.
type certChecker struct {
	cfg  *spec.Config
	jobs []sigJob
}

// queue adds the signature of (role, r) over body under domain; r < n.
func (cc *certChecker) queue(role spec.Role, r uint64, domain string, body any, sig spec.Signature) {
	key := cc.cfg.Enrollment(role, r).Body.SignKey
	cc.jobs = append(cc.jobs, sigJob{key: key, domain: domain, body: spec.Encode(body), sig: sig})
}

// verify reports whether every queued signature is valid.
func (cc *certChecker) verify(cd spec.Digest, workers int) bool {
	return verifyAll(cd, cc.jobs, workers)
}

// checkpointCert applies K1–K4 and queues K5.
func (cc *certChecker) checkpointCert(c *spec.CheckpointCert) bool {
	if c.Seq == 0 {
		return c.State == spec.Digest{} && len(c.Proof) == 0 // K1
	}
	if c.Seq%cc.cfg.CheckpointInterval != 0 || len(c.Proof) != cc.cfg.Quorum() {
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
		cc.queue(spec.RoleExec, b.Replica, spec.DomainCheckpoint, b, c.Proof[i].Sig) // K5
	}
	return true
}

// preparedCert applies C1, C3–C5 and queues C2 and C6.
func (cc *certChecker) preparedCert(pc *spec.PreparedCert) bool {
	h := &pc.Header.Body
	if h.Replica != cc.cfg.Primary(h.View) {
		return false // C1
	}
	cc.queue(spec.RolePrep, h.Replica, spec.DomainPrePrepare, h, pc.Header.Sig) // C2
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
		cc.queue(spec.RolePrep, b.Replica, spec.DomainPrepare, b, pc.Prepares[i].Sig) // C6
	}
	return true
}

// viewChangeBody applies V3–V6 (queueing their signatures).
func (cc *certChecker) viewChangeBody(b *spec.ViewChangeBody) bool {
	if !cc.checkpointCert(&b.Stable) {
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
		if !inWindow(h.Seq, b.Stable.Seq, cc.cfg.Window) || h.View >= b.View {
			return false // V5
		}
		if !cc.preparedCert(&b.Prepared[i]) {
			return false // V6
		}
	}
	return true
}

// viewChange applies V1 and V3–V6 and queues V2: the validity of a VIEW-CHANGE carried
// inside a NEW-VIEW.
func (cc *certChecker) viewChange(vc *spec.ViewChange) bool {
	if vc.Body.Replica >= cc.cfg.N {
		return false // V1
	}
	cc.queue(spec.RoleConf, vc.Body.Replica, spec.DomainViewChange, &vc.Body, vc.Sig) // V2
	return cc.viewChangeBody(&vc.Body)
}
