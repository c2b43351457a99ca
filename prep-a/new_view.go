package prepa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onNewView handles a NEW-VIEW at a prep (SPEC.md §9.7, W1–W6): it validates the
// certificates (W4, W5: NV3–NV7 of §8.6, agreea.CheckNewView), re-derives O and
// requires it to equal the NEW-VIEW's PRE-PREPAREs, enters the view and prepares
// every O entry above h (null batches included).
func (p *Prep) onNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	switch {
	case b.Replica >= p.n():
		return fail(spec.CodeUnknownSender) // W1 (NV1)
	case b.Replica != p.cfg.Primary(b.View) || b.Replica == p.self.Replica:
		return fail(spec.CodeNotPrimary) // W2 (NV2, and never our own view)
	case b.View <= p.v:
		return fail(spec.CodeStale) // W3
	}
	if code := agreea.CheckNewView(p.cfg, p.cd, p.workers, nv); code != 0 {
		return fail(code) // W4, W5
	}
	o := computeO(p.cfg, b.View, b.ViewChanges)
	if !sameSlots(b.PrePrepares, o.slots) {
		return fail(spec.CodeBadNewView) // W6
	}
	p.enterView(b.View, b.ViewChanges, &o)
	if p.isPrimary(b.View) {
		return accept // a primary never prepares its own view's O
	}
	for _, s := range o.slots {
		if s.Seq > p.cp.H() {
			p.sendPrepare(s.Seq, s.Digest)
		}
	}
	return accept
}

// sameSlots reports whether the bodies of pps are exactly slots, in order (W6).
func sameSlots(pps []spec.PrePrepare, slots []spec.Slot) bool {
	if len(pps) != len(slots) {
		return false
	}
	for i := range pps {
		if pps[i].Body != slots[i] {
			return false
		}
	}
	return true
}
