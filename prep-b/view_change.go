package prepb

import (
	"sort"

	"github.com/splitbft/splitbft/internal/agreeb"
	"github.com/splitbft/splitbft/spec"
)

// storedViewChange is an accepted VIEW-CHANGE with the digest of its encoding, so
// that "vcs[r] == vc" (§9.6 VC5, VC6) compares exact bytes without keeping them.
type storedViewChange struct {
	vc  *spec.ViewChange
	sum spec.Digest // spec.Hash(vcDomain, enc(vc))
}

// vcDomain separates the local equality digest of a stored VIEW-CHANGE. It is never
// signed or sent.
const vcDomain = "prepb/local/view-change"

// onViewChange handles a VIEW-CHANGE from a conf (§9.6): lines VC1–VC6, then, at
// the primary of its view, the NEW-VIEW once q of them are stored.
func (p *Preparation) onViewChange(out *agreeb.Outputs, vc *spec.ViewChange) uint64 {
	c := p.cl
	b := &vc.Body
	switch {
	case b.Replica >= c.N: // VC1
		return spec.CodeUnknownSender
	case b.View <= p.view: // VC2
		return spec.CodeStale
	case !c.Verify(spec.RoleConf, b.Replica, spec.DomainViewChange, b, vc.Sig): // VC3
		return spec.CodeBadSignature
	case !c.ValidViewChangeContent(vc): // VC4
		return spec.CodeBadCertificate
	}
	sum := spec.Hash(vcDomain, spec.Encode(vc))
	if prev, ok := p.vcs[b.Replica]; ok {
		switch pv := prev.vc.Body.View; {
		case pv > b.View: // VC5
			return spec.CodeStale
		case pv == b.View && prev.sum != sum: // VC5
			return spec.CodeConflict
		case prev.sum == sum: // VC6
			return spec.CodeDuplicate
		}
	}
	p.vcs[b.Replica] = &storedViewChange{vc: vc, sum: sum}
	p.maybeBuildNewView(out, b.View)
	return 0
}

// maybeBuildNewView builds and emits the NEW-VIEW for view w if this prep is its
// primary, has not built one for w, and holds q VIEW-CHANGEs for w (§9.6).
func (p *Preparation) maybeBuildNewView(out *agreeb.Outputs, w uint64) {
	c := p.cl
	if p.id.Replica() != c.Primary(w) || w <= p.nvHigh {
		return
	}
	senders := make([]uint64, 0, len(p.vcs))
	for r, s := range p.vcs {
		if s.vc.Body.View == w {
			senders = append(senders, r)
		}
	}
	if uint64(len(senders)) < c.Q {
		return
	}
	sort.Slice(senders, func(i, j int) bool { return senders[i] < senders[j] })
	vs := make([]spec.ViewChange, c.Q)
	for i, r := range senders[:c.Q] {
		vs[i] = *p.vcs[r].vc
	}
	plan := planNewView(w, p.id.Replica(), vs)
	p.enterView(w, &plan)
	p.nvHigh = w
	body := spec.NewViewBody{View: w, Replica: p.id.Replica(), ViewChanges: vs, PrePrepares: p.signO(plan.o)}
	nv := spec.NewView{Body: body, Sig: p.id.Sign(spec.DomainNewView, c.CD, &body)}
	out.Send(spec.KindNewView, spec.ToPrep|spec.ToConf|spec.ToExec, c.AllReplicas(), &nv)
}

// signO signs each O entry as a PRE-PREPARE of this prep (§8.5 step 4).
func (p *Preparation) signO(o []spec.Slot) []spec.PrePrepare {
	pps := make([]spec.PrePrepare, len(o))
	for i := range o {
		pps[i] = spec.PrePrepare{Body: o[i], Sig: p.id.Sign(spec.DomainPrePrepare, p.cl.CD, &o[i])}
	}
	return pps
}

// enterView moves this prep into view w per §9.6: v = w, adopt best's checkpoint if
// higher, accepted = the O entries above h, seqHigh = max(h, maxS), and forget
// VIEW-CHANGEs for views ≤ w.
func (p *Preparation) enterView(w uint64, plan *newViewPlan) {
	p.view = w
	if p.cps.Adopt(&plan.best.Body.Stable) {
		p.onStable()
	}
	p.accepted = map[uint64]spec.Digest{}
	for _, e := range plan.o {
		if e.Seq > p.cps.H() {
			p.accepted[e.Seq] = e.Digest
		}
	}
	p.seqHigh = max(p.cps.H(), plan.maxS)
	for r, s := range p.vcs {
		if s.vc.Body.View <= w {
			delete(p.vcs, r)
		}
	}
}
