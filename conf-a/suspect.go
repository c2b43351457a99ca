package confa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onSuspect handles suspect (SPEC.md §10.4, S1): move to the next view, stop taking
// normal-case messages, and emit a VIEW-CHANGE with the stable checkpoint certificate
// and every prepared certificate in the window, to every prep. A suspicion while a
// view change is in progress moves on to the following view.
func (c *Conf) onSuspect(m *spec.Suspect) verdict {
	switch {
	case m.View < c.v:
		return fail(spec.CodeStale) // S1
	case m.View > c.v:
		return fail(spec.CodeWrongView) // S1
	}
	// c.v + 1 cannot wrap: views only grow by one per suspicion or to the view of a
	// NEW-VIEW carrying q conf signatures for that view.
	c.v, c.active = c.v+1, false
	c.slots = map[uint64]*slot{}
	body := spec.ViewChangeBody{View: c.v, Replica: c.id(), Stable: c.cp.Stable()}
	for _, s := range agreea.SortedKeys(c.pset) {
		if agreea.InWindow(s, c.cp.H(), c.window()) {
			body.Prepared = append(body.Prepared, *c.pset[s])
		}
	}
	vc := spec.ViewChange{Body: body, Sig: c.key.Sign(spec.DomainViewChange, c.cd, spec.Encode(&body))}
	c.broadcast(spec.KindViewChange, spec.ToPrep, spec.Encode(&vc))
	return accept
}
