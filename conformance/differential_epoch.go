package conformance

import (
	"github.com/splitbft/splitbft/spec"
)

// epochChange returns an epoch-change input (SPEC.md §17.1, §17.4): mostly a valid one
// starting at a multiple of K at or just above the believed h (after which the world
// enters the next epoch), otherwise one that breaks one rule of EC1–EC4, and rarely
// one that retires the compartment (every later input is then rejected, A0).
func (w *world) epochChange() spec.Input {
	k := w.fx.Params.K
	start := w.h + k*(1+w.rng.Uint64N(2)) // above h and the epoch's start (EC3)
	state := spec.Hash("splitbft/v1/differential-epoch-state", spec.U64(start))
	var mod func(*spec.Config)
	m := w.pick(55, 5, 6, 6, 6, 6, 6, 6, 4)
	switch m {
	case 1: // EC1
		mod = func(c *spec.Config) { c.Threshold = 1 }
	case 2: // EC2
		mod = func(c *spec.Config) { c.Epoch += 1 }
	case 3: // EC2
		mod = func(c *spec.Config) { c.Prev = state }
	case 4: // EC3
		mod = func(c *spec.Config) { c.Window *= 2 }
	case 8: // retirement
		mod = func(c *spec.Config) {
			*c.Replicas[w.id].Slot(w.role) = w.fx.FreshEnrollment(w.role, w.id, "differential-retire")
		}
	}
	if m == 5 && w.h > 0 { // EC3: below h
		start = w.h - 1
	}
	next := w.fx.NextConfig(start, state, mod)
	voters := w.voters()
	if m == 6 { // EC4: one vote short
		voters = voters[1:]
	}
	ec := w.fx.EpochChange(next, voters...)
	if m == 7 { // EC4: a bad signature
		w.flip(ec.Votes[w.rng.IntN(len(ec.Votes))].Sig[:])
	}
	if m == 0 {
		w.enter(next)
	}
	return In(spec.KindEpochChange, &ec)
}

// voters returns q distinct exec replicas in increasing order.
func (w *world) voters() []uint64 {
	skip := w.rng.Uint64N(w.n)
	var vs []uint64
	for r := uint64(0); r < w.n && uint64(len(vs)) < w.q; r++ {
		if r != skip || w.n-1 < w.q {
			vs = append(vs, r)
		}
	}
	return vs
}

// enter moves the world's belief into the next epoch: view 0 and active, h = StartSeq
// with the epoch's genesis certificate, nothing accepted, signatures under the new digest.
func (w *world) enter(next *spec.Config) {
	w.fx.Enter(next)
	w.v, w.active, w.h, w.stable, w.next = 0, true, next.StartSeq, next.GenesisCert(), next.StartSeq+1
	w.history, w.cps, w.far = nil, map[uint64][]uint64{}, map[uint64]uint64{}
	w.vcView, w.latest, w.nvSent = 1, make([]*spec.ViewChange, w.n), map[uint64]bool{}
}
