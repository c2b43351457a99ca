package confb

import (
	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// onSuspect handles the broker's suspicion of view v (§10.4): line S1, then move to
// view v+1, stop taking part in agreement until a NEW-VIEW, and send a VIEW-CHANGE
// with the stable certificate and every prepared certificate in (h, h+L] to every
// prep.
func (x *Confirmation) onSuspect(out *agreeb.Outputs, m *spec.Suspect) uint64 {
	switch {
	case m.View < x.view: // S1
		return spec.CodeStale
	case m.View > x.view: // S1
		return spec.CodeWrongView
	}
	c := x.cl
	x.view++
	x.active = false
	x.slots = map[uint64]*slot{}
	var prepared []spec.PreparedCert
	for _, s := range agreeb.SortedKeys(x.pset) {
		if s > x.cps.H() && s-x.cps.H() <= c.L {
			prepared = append(prepared, *x.pset[s])
		}
	}
	body := spec.ViewChangeBody{View: x.view, Replica: x.id.Replica(), Stable: x.cps.Stable(), Prepared: prepared}
	vc := spec.ViewChange{Body: body, Sig: x.id.Sign(spec.DomainViewChange, c.CD, &body)}
	out.Send(spec.KindViewChange, spec.ToPrep, c.AllReplicas(), &vc)
	return 0
}
