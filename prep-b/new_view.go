package prepb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onNewView handles a NEW-VIEW at a prep that is not its primary (§9.7): lines
// W1–W6, then enter view w and emit a PREPARE for every O entry above h.
func (p *Preparation) onNewView(out *agreeb.Outputs, nv *spec.NewView) uint64 {
	c := p.cl
	b := &nv.Body
	switch {
	case b.Replica >= c.N: // W1 (NV1)
		return spec.CodeUnknownSender
	case b.Replica != c.Primary(b.View), b.Replica == p.id.Replica(): // W2 (NV2; not for a view we lead)
		return spec.CodeNotPrimary
	case b.View <= p.view: // W3
		return spec.CodeStale
	}
	if code := c.CheckNewView(nv); code != 0 { // W4, W5 (NV3–NV7)
		return code
	}
	plan := planNewView(b.View, b.Replica, b.ViewChanges)
	if !sameO(plan.o, b.PrePrepares) { // W6
		return spec.CodeBadNewView
	}
	p.enterView(b.View, &plan)
	for _, e := range plan.o {
		if e.Seq > p.cps.H() {
			p.sendPrepare(out, e.Seq, e.Digest)
		}
	}
	return 0
}

// sameO reports whether the bodies of pps equal the recomputed O entries (W6).
func sameO(o []spec.Slot, pps []spec.PrePrepare) bool {
	if len(o) != len(pps) {
		return false
	}
	for i := range o {
		if o[i] != pps[i].Body {
			return false
		}
	}
	return true
}
