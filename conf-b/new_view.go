package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onNewView handles a NEW-VIEW (§10.6): lines N1–N4, then enter view w, adopt the
// checkpoint of best if higher, and install every O entry above h as its slot's
// PRE-PREPARE. Conf does not recompute O (§8.6).
func (x *Confirmation) onNewView(nv *spec.NewView) uint64 {
	c := x.cl
	b := &nv.Body
	switch {
	case b.Replica >= c.N: // N1 (NV1)
		return spec.CodeUnknownSender
	case b.Replica != c.Primary(b.View): // N2 (NV2)
		return spec.CodeNotPrimary
	case b.View < x.view || (b.View == x.view && x.active): // N3
		return spec.CodeStale
	}
	if code := c.CheckNewView(nv); code != 0 { // N4 (NV3–NV7)
		return code
	}
	x.view, x.active = b.View, true
	x.slots = map[uint64]*slot{}
	bi, _ := agreeb.StableBase(b.ViewChanges)
	if x.cps.Adopt(&b.ViewChanges[bi].Body.Stable) {
		x.onStable()
	}
	for _, pp := range b.PrePrepares {
		if pp.Body.Seq > x.cps.H() {
			x.slotAt(pp.Body.Seq).prePrepare = &pp
		}
	}
	return 0
}
