package prepa

import (
	"bytes"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// onViewChange handles a VIEW-CHANGE (SPEC.md §9.6, VC1–VC6); raw is its exact
// received encoding. On acceptance it stores it and, at the new primary, builds the
// NEW-VIEW once q view-changes for its view are stored.
func (p *Prep) onViewChange(raw []byte, vc *spec.ViewChange) verdict {
	b := &vc.Body
	switch {
	case b.Replica >= p.n():
		return fail(spec.CodeUnknownSender) // VC1
	case b.View <= p.v:
		return fail(spec.CodeStale) // VC2
	case p.vcs[b.Replica] != nil && bytes.Equal(p.vcs[b.Replica].raw, raw):
		// The same bytes passed VC1–VC4 when stored (cfg is fixed, and a stored entry's
		// view is > v), so in rule order they pass VC3–VC5 again and fail VC6; skip the
		// signature checks of a replay.
		return fail(spec.CodeDuplicate) // VC6
	case !agreea.VerifySender(p.cfg, p.cd, spec.RoleConf, b.Replica, spec.DomainViewChange, b, vc.Sig):
		return fail(spec.CodeBadSignature) // VC3
	}
	cc := agreea.NewCertChecker(p.cfg)
	if !cc.ViewChangeBody(b) || !cc.Verify(p.cd, p.workers) {
		return fail(spec.CodeBadCertificate) // VC4
	}
	if old, ok := p.vcs[b.Replica]; ok {
		same := bytes.Equal(old.raw, raw)
		switch {
		case !same && old.vc.Body.View > b.View:
			return fail(spec.CodeStale) // VC5, lower view
		case !same && old.vc.Body.View == b.View:
			return fail(spec.CodeConflict) // VC5, same view, other bytes
		case same:
			return fail(spec.CodeDuplicate) // VC6
		}
	}
	p.vcs[b.Replica] = &storedViewChange{vc: *vc, raw: bytes.Clone(raw)}
	p.maybeBuildNewView(b.View)
	return accept
}

// maybeBuildNewView builds, signs and emits the NEW-VIEW for w (§9.6) if this prep is
// primary(w), has not built one for w, and holds q view-changes for w.
func (p *Prep) maybeBuildNewView(w uint64) {
	if !p.isPrimary(w) || w <= p.lastNewView {
		return
	}
	var chosen []spec.ViewChange // the q lowest replica ids, ascending
	for _, r := range agreea.SortedKeys(p.vcs) {
		if s := p.vcs[r]; s.vc.Body.View == w && len(chosen) < p.q() {
			chosen = append(chosen, s.vc)
		}
	}
	if len(chosen) < p.q() {
		return
	}
	o := computeO(p.cfg, w, chosen)
	p.enterView(w, chosen, &o)
	p.lastNewView = w
	body := spec.NewViewBody{View: w, Replica: p.id(), ViewChanges: chosen}
	for i := range o.slots {
		sig := p.key.Sign(spec.DomainPrePrepare, p.cd, spec.Encode(&o.slots[i]))
		body.PrePrepares = append(body.PrePrepares, spec.PrePrepare{Body: o.slots[i], Sig: sig})
	}
	nv := spec.NewView{Body: body, Sig: p.key.Sign(spec.DomainNewView, p.cd, spec.Encode(&body))}
	p.broadcast(spec.KindNewView, spec.ToPrep|spec.ToConf|spec.ToExec, spec.Encode(&nv))
}

// enterView moves to view w with the O set o of the view-changes vcs (§9.6): adopt
// the checkpoint of best if higher (§8.4), accept O's entries above h, set seqHigh,
// and drop the stored view-changes for views up to w.
func (p *Prep) enterView(w uint64, vcs []spec.ViewChange, o *oSet) {
	p.v = w
	if best := &vcs[o.best].Body.Stable; best.Seq > p.cp.H() {
		p.stabilize(best)
	}
	p.accepted = map[uint64]spec.Digest{}
	for _, s := range o.slots {
		if s.Seq > p.cp.H() {
			p.accepted[s.Seq] = s.Digest
		}
	}
	p.seqHigh = max(p.cp.H(), o.maxS)
	for r, s := range p.vcs {
		if s.vc.Body.View <= w {
			delete(p.vcs, r)
		}
	}
}
