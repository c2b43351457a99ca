package confa

import "github.com/splitbft/splitbft/spec"

// onCheckpoint handles a CHECKPOINT (SPEC.md §8.3, CP1–CP7: agreea.Checkpoints.Receive).
func (c *Conf) onCheckpoint(ck *spec.Checkpoint) verdict {
	cert, code := c.cp.Receive(c.cfg, c.cd, ck)
	if code != 0 {
		return fail(code)
	}
	if cert != nil {
		c.stabilize(cert)
	}
	return accept
}

// stabilize makes cert (for a seq above h, valid) the stable checkpoint, as a new
// stable checkpoint of §8.3 or an adopted one of §8.4, then applies the effect of
// §10.5: slots and pset entries at or below h go.
func (c *Conf) stabilize(cert *spec.CheckpointCert) {
	c.cp.Stabilize(cert)
	h := c.cp.H()
	for s := range c.slots {
		if s <= h {
			delete(c.slots, s)
		}
	}
	for s := range c.pset {
		if s <= h {
			delete(c.pset, s)
		}
	}
}
