package prepa

import "github.com/splitbft/splitbft/spec"

// onCheckpoint handles a CHECKPOINT (SPEC.md §8.3, CP1–CP7: agreea.Checkpoints.Receive).
func (p *Prep) onCheckpoint(c *spec.Checkpoint) verdict {
	cert, code := p.cp.Receive(p.cfg, p.cd, c)
	if code != 0 {
		return fail(code)
	}
	if cert != nil {
		p.stabilize(cert)
	}
	return accept
}

// stabilize makes cert (for a seq above h, valid) the stable checkpoint, as a new
// stable checkpoint of §8.3 or an adopted one of §8.4, then applies the effect of
// §9.5: accepted entries at or below h go, and seqHigh ≥ h.
func (p *Prep) stabilize(cert *spec.CheckpointCert) {
	p.cp.Stabilize(cert)
	h := p.cp.H()
	for s := range p.accepted {
		if s <= h {
			delete(p.accepted, s)
		}
	}
	p.seqHigh = max(p.seqHigh, h)
}
