package conformance

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file builds the differential generator's view-change inputs: VIEW-CHANGEs
// (for prep) and NEW-VIEWs (for prep and conf), valid or spoiled in one certificate
// or signature.

// preparedFor returns prepared certificates for the believed-accepted proposals with
// a view below t and a seq in (stable, stable + L]: the highest view per seq, each
// included with probability 70%, sorted by seq.
func (w *world) preparedFor(t, stable uint64) []spec.PreparedCert {
	best := map[uint64]proposed{}
	var seqs []uint64
	for _, p := range w.history {
		if p.view >= t || p.seq <= stable || p.seq > stable+w.fx.Params.L {
			continue
		}
		old, seen := best[p.seq]
		if !seen {
			seqs = append(seqs, p.seq)
		}
		if !seen || p.view > old.view || (p.view == old.view && bytes.Compare(p.digest[:], old.digest[:]) < 0) {
			best[p.seq] = p
		}
	}
	var out []spec.PreparedCert
	for _, s := range sortedU64(seqs) {
		if w.chance(70) {
			p := best[s]
			out = append(out, w.fx.PreparedCert(p.view, p.seq, p.digest))
		}
	}
	return out
}

// buildVC returns a VIEW-CHANGE to view t from conf r, spoiled by mutation m (0: valid).
func (w *world) buildVC(t, r uint64, m int) spec.ViewChange {
	body := spec.ViewChangeBody{View: t, Replica: r, Stable: w.stable, Prepared: w.preparedFor(t, w.stable.Seq)}
	k, l := w.fx.Params.K, w.fx.Params.L
	switch m {
	case 2:
		body.Replica = w.n
	case 3: // C6: a PREPARE signature inside a prepared certificate
		body.Prepared = append([]spec.PreparedCert{}, body.Prepared...)
		pc := w.fx.PreparedCert(max(t, 1)-1, w.stable.Seq+1, w.digest())
		w.flip(pc.Prepares[len(pc.Prepares)-1].Sig[:])
		body.Prepared = append([]spec.PreparedCert{pc}, withoutSeq(body.Prepared, pc.Header.Body.Seq)...)
	case 4: // V5: a certificate beyond the window
		body.Prepared = append(body.Prepared, w.fx.PreparedCert(max(t, 1)-1, w.stable.Seq+l+1, w.digest()))
	case 5: // V5: a certificate of view t
		body.Prepared = append(withoutSeq(body.Prepared, w.stable.Seq+1), w.fx.PreparedCert(t, w.stable.Seq+1, w.digest()))
		body.Prepared = sortPrepared(body.Prepared)
	case 6: // K2: a stable certificate without its proof
		body.Stable = spec.CheckpointCert{Seq: w.stable.Seq + k, State: trueState(w.stable.Seq + k)}
	case 7: // V4: a certificate twice
		if len(body.Prepared) > 0 {
			body.Prepared = append(body.Prepared, body.Prepared[len(body.Prepared)-1])
		}
	case 8: // C3: a prepared certificate one PREPARE short
		pc := w.fx.PreparedCert(max(t, 1)-1, w.stable.Seq+1, w.digest())
		pc.Prepares = pc.Prepares[1:]
		body.Prepared = sortPrepared(append(withoutSeq(body.Prepared, pc.Header.Body.Seq), pc))
	}
	vc := spec.ViewChange{Body: body, Sig: w.fx.Sign(spec.RoleConf, min(body.Replica, w.n-1), spec.DomainViewChange, &body)}
	if m == 1 {
		w.flip(vc.Sig[:])
	}
	return vc
}

func withoutSeq(pcs []spec.PreparedCert, seq uint64) []spec.PreparedCert {
	var out []spec.PreparedCert
	for _, pc := range pcs {
		if pc.Header.Body.Seq != seq {
			out = append(out, pc)
		}
	}
	return out
}

func sortPrepared(pcs []spec.PreparedCert) []spec.PreparedCert {
	for i := 1; i < len(pcs); i++ {
		for j := i; j > 0 && pcs[j].Header.Body.Seq < pcs[j-1].Header.Body.Seq; j-- {
			pcs[j], pcs[j-1] = pcs[j-1], pcs[j]
		}
	}
	return pcs
}

// viewChange is a conf's VIEW-CHANGE for prep: mostly to the view being collected.
func (w *world) viewChange() spec.Input {
	t := w.vcView
	switch w.pick(84, 8, 8) {
	case 1:
		t = w.v // stale
	case 2:
		t = w.vcView + 1
	}
	r := w.rng.Uint64N(w.n)
	m := 0
	if w.chance(25) {
		m = 1 + w.rng.IntN(8)
	}
	vc := w.buildVC(t, r, m)
	if m == 0 && t > w.v {
		w.addVC(vc)
	}
	return In(spec.KindViewChange, &vc)
}

// addVC records a valid VIEW-CHANGE unless its sender's recorded one has a view as
// high (§9.6 VC5, VC6); a prep that is the primary of its view enters that view once
// q senders are recorded for it and it built no NEW-VIEW for it yet.
func (w *world) addVC(vc spec.ViewChange) {
	r, t := vc.Body.Replica, vc.Body.View
	if old := w.latest[r]; old != nil && old.Body.View >= t {
		return
	}
	w.latest[r] = &vc
	if w.role != spec.RolePrep || w.fx.Primary(t) != w.id || w.nvSent[t] {
		return
	}
	if vcs := w.vcsFor(t); uint64(len(vcs)) >= w.q {
		w.nvSent[t] = true
		w.enterView(t, bestStable(vcs[:w.q]), OSet(w.n, t, vcs[:w.q]))
	}
}

// vcsFor returns the recorded VIEW-CHANGEs for view t, by increasing sender.
func (w *world) vcsFor(t uint64) []spec.ViewChange {
	var out []spec.ViewChange
	for _, vc := range w.latest {
		if vc != nil && vc.Body.View == t {
			out = append(out, *vc)
		}
	}
	return out
}

// bestStable is the stable certificate of the VIEW-CHANGE with the highest Stable.Seq,
// the lowest replica id among equals (§8.5).
func bestStable(vcs []spec.ViewChange) spec.CheckpointCert {
	best := vcs[0].Body.Stable
	for _, vc := range vcs[1:] {
		if vc.Body.Stable.Seq > best.Seq {
			best = vc.Body.Stable
		}
	}
	return best
}

// newViewTarget returns the view of the next NEW-VIEW and q valid VIEW-CHANGEs for it.
func (w *world) newViewTarget() (uint64, []spec.ViewChange) {
	if vcs := w.vcsFor(w.vcView); uint64(len(vcs)) >= w.q && w.vcView > w.v && w.chance(70) {
		return w.vcView, vcs[:w.q]
	}
	t := w.v + 1
	if w.role == spec.RoleConf && !w.active && w.chance(80) {
		t = w.v
	}
	if w.role == spec.RolePrep && w.fx.Primary(t) == w.id && w.chance(80) {
		t++ // a prep never accepts a NEW-VIEW for its own view (W2)
	}
	var vcs []spec.ViewChange
	var senders []uint64
	for _, r := range w.rng.Perm(int(w.n))[:w.q] {
		senders = append(senders, uint64(r))
	}
	for _, r := range sortedU64(senders) {
		vcs = append(vcs, w.buildVC(t, r, 0))
	}
	return t, vcs
}

// newView is the new primary's NEW-VIEW.
func (w *world) newView() spec.Input {
	t, vcs := w.newViewTarget()
	m := 0
	if w.chance(30) {
		m = 1 + w.rng.IntN(8)
	}
	if m == 2 { // stale
		t = w.v
		if w.role == spec.RoleConf && !w.active {
			t = max(t, 1) - 1
		}
		vcs = append([]spec.ViewChange{}, vcs...)
		for i := range vcs {
			vcs[i] = w.resignVC(vcs[i], t)
		}
	}
	if m == 6 { // NV4: one VIEW-CHANGE short
		vcs = vcs[1:]
	}
	nv := w.fx.NewView(t, vcs)
	w.spoilNewView(&nv, m)
	own := w.role == spec.RolePrep && w.fx.Primary(t) == w.id
	if !own && (m == 0 || (m == 4 && w.role == spec.RoleConf)) { // conf does not recompute O (§8.6)
		w.enterView(t, bestStable(vcs), nvSlots(&nv))
	}
	return In(spec.KindNewView, &nv)
}

// nvSlots returns the bodies of a NEW-VIEW's PRE-PREPAREs.
func nvSlots(nv *spec.NewView) []spec.Slot {
	var out []spec.Slot
	for _, o := range nv.Body.PrePrepares {
		out = append(out, o.Body)
	}
	return out
}

// resignVC returns vc moved to view t and signed again.
func (w *world) resignVC(vc spec.ViewChange, t uint64) spec.ViewChange {
	vc.Body.View = t
	vc.Sig = w.fx.Sign(spec.RoleConf, vc.Body.Replica, spec.DomainViewChange, &vc.Body)
	return vc
}

// spoilNewView applies mutation m to nv's signatures, sender or O set.
func (w *world) spoilNewView(nv *spec.NewView, m int) {
	b := &nv.Body
	switch m {
	case 3: // not the primary
		b.Replica = (b.Replica + 1) % w.n
	case 4: // W6: a wrong digest in O, correctly signed
		if len(b.PrePrepares) == 0 {
			s := spec.Slot{View: b.View, Seq: w.stable.Seq + 1, Digest: w.digest(), Replica: b.Replica}
			b.PrePrepares = append(b.PrePrepares, spec.PrePrepare{Body: s})
		}
		o := &b.PrePrepares[len(b.PrePrepares)-1]
		o.Body.Digest = w.digest()
		o.Sig = w.fx.Sign(spec.RolePrep, b.Replica, spec.DomainPrePrepare, &o.Body)
	case 5: // NV7: an O signature
		if len(b.PrePrepares) > 0 {
			w.flip(b.PrePrepares[0].Sig[:])
		}
	case 7: // NV5: a VIEW-CHANGE signature
		b.ViewChanges = append([]spec.ViewChange{}, b.ViewChanges...)
		w.flip(b.ViewChanges[0].Sig[:])
	case 8:
		b.Replica = w.n
	}
	if m >= 3 {
		nv.Sig = w.fx.Sign(spec.RolePrep, min(b.Replica, w.n-1), spec.DomainNewView, b)
	}
	if m == 1 {
		w.flip(nv.Sig[:])
	}
}
