package confa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onNewView handles a NEW-VIEW at a conf (SPEC.md §10.6, N1–N4): it validates the
// certificates (N4: NV3–NV7 of §8.6, agreea.CheckNewView) but does not re-derive O
// (a wrong entry can never gather the 2f PREPAREs a commit needs), enters the view,
// adopts the checkpoint of best (§8.5 step 1, agreea.BestStable) if higher, and
// stores every O entry above h as its slot's PRE-PREPARE.
func (c *Conf) onNewView(nv *spec.NewView) verdict {
	b := &nv.Body
	switch {
	case b.Replica >= c.n():
		return fail(spec.CodeUnknownSender) // N1 (NV1)
	case b.Replica != c.cfg.Primary(b.View):
		return fail(spec.CodeNotPrimary) // N2 (NV2)
	case b.View < c.v || (b.View == c.v && c.active):
		return fail(spec.CodeStale) // N3
	}
	if code := agreea.CheckNewView(c.cfg, c.cd, c.workers, nv); code != 0 {
		return fail(code) // N4
	}
	c.v, c.active = b.View, true
	c.slots = map[uint64]*slot{}
	if best := &b.ViewChanges[agreea.BestStable(b.ViewChanges)].Body.Stable; best.Seq > c.cp.H() {
		c.stabilize(best)
	}
	for i := range b.PrePrepares {
		if pp := b.PrePrepares[i]; pp.Body.Seq > c.cp.H() {
			c.slots[pp.Body.Seq] = &slot{pp: &pp, prepares: map[uint64]spec.Prepare{}}
		}
	}
	return accept
}
