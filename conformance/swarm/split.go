package swarm

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the adversary's attacks on an equivocating primary: split-brain
// delivery, lagging execs, and steering views towards the Byzantine primary.

// splitBrain starts a split-brain attack on the equivocation just queued (from
// mark on): the replicas of a random nonempty proper subset see the conflicting
// variant first, and for a while every slot message (proposal, PRE-PREPARE, PREPARE)
// of that slot with the other digest is held back from them, while the other
// replicas have the variant's messages held back. Each side then builds its own
// certificates, as PBFT's quorum intersection must make harmless.
func (s *sim) splitBrain(mark int, orig spec.Digest) {
	if mark >= len(s.pending) || len(s.splits) > 0 { // one attack at a time: the adversary focuses
		return
	}
	m := &s.pool[s.pending[mark].msg]
	if m.kind != spec.KindProposal {
		return
	}
	sp := split{mask: s.splitMask(m.digest, orig), d: m.digest, start: s.step, until: s.step + 80 + s.rng.IntN(200),
		lag: s.someCorrectExecs(), suspect: s.rng.IntN(6) != 0}
	k := [2]uint64{m.view, m.seq}
	s.splits[k] = sp
	s.stats.Splits++
	s.splitOrder = append(s.splitOrder, k)
	s.lags[k] = lag{mask: sp.lag, until: s.step + 500 + s.rng.IntN(1000)}
	s.logf("  split-brain on v%d s%d: replicas %b see %x first, execs %b lag", m.view, m.seq, sp.mask, sp.d[:4], sp.lag)
}

// splitMask chooses the replicas that see the variant first. Mostly it is the
// adversary's best choice against PBFT's rule that a new view keeps the smallest of
// the highest-view prepared digests (§8.5): one correct conf alone sees the smaller
// digest, the other confs the larger one (which can then commit), so that a view
// change would replace what committed — unless quorum intersection prevents it.
func (s *sim) splitMask(variant, orig spec.Digest) uint64 {
	all := uint64(1)<<s.cfg.N - 1
	var confs []uint64
	for r := range s.cfg.N {
		if s.nodes[r][spec.RoleConf].correct() {
			confs = append(confs, r)
		}
	}
	if len(confs) < 2 || s.rng.IntN(3) == 0 {
		return 1 + s.rng.Uint64N(all-1)
	}
	lone := uint64(1) << confs[s.rng.IntN(len(confs))]
	if bytes.Compare(variant[:], orig[:]) < 0 {
		return lone
	}
	return all &^ lone
}

// split is a split-brain attack on one slot: until step until, confs in mask get only
// the PRE-PREPAREs and PREPAREs with digest d, the other confs only those with another
// digest, and the execs in lag get none of the slot's COMMITs (for much longer: see
// lags); preps get both
// proposals, each side its own first (so that a prep that wrongly accepts both
// prepares both). If suspect, the attack ends in a view change while those execs
// lag.
type split struct {
	mask    uint64
	d       spec.Digest
	start   int
	until   int
	lag     uint64
	suspect bool
}

// someCorrectExecs returns a random nonempty proper subset of the correct execs (the
// adversary colludes with the Byzantine enclaves, so it knows them), or a random
// replica set if there are fewer than two.
func (s *sim) someCorrectExecs() uint64 {
	var ids []uint64
	for r := range s.cfg.N {
		if s.nodes[r][spec.RoleExec].correct() {
			ids = append(ids, r)
		}
	}
	if len(ids) < 2 {
		return 1 + s.rng.Uint64N(uint64(1)<<s.cfg.N-2)
	}
	var m uint64
	for m == 0 || popcount(m) == len(ids) {
		m = 0
		for _, r := range ids {
			if s.rng.IntN(2) == 0 {
				m |= 1 << r
			}
		}
	}
	return m
}

// lag holds a slot's COMMITs back from the execs in mask until step until: they
// lag behind the others across the view change that ends a split-brain attack.
type lag struct {
	mask  uint64
	until int
}

// endSplits ends the split-brain attacks whose time is up, with their view changes.
func (s *sim) endSplits() {
	for len(s.splitOrder) > 0 {
		k := s.splitOrder[0]
		sp := s.splits[k]
		if s.step <= sp.until {
			return
		}
		s.splitOrder = s.splitOrder[1:]
		delete(s.splits, k)
		if sp.suspect && s.lastSuspectAll != s.step {
			s.suspectAll()
		}
	}
}

// heldBack reports whether a split-brain attack holds a delivery back.
func (s *sim) heldBack(d delivery) bool {
	if d.msg < 0 || len(s.splits) == 0 {
		return false
	}
	m := &s.pool[d.msg]
	switch m.kind {
	case spec.KindProposal, spec.KindPrepare, spec.KindCommit:
	default:
		return false
	}
	k := [2]uint64{m.view, m.seq}
	if m.kind == spec.KindCommit {
		lg, ok := s.lags[k]
		return ok && s.step <= lg.until && lg.mask&(1<<d.to.Replica) != 0
	}
	sp, ok := s.splits[k]
	if !ok || s.step > sp.until {
		return false
	}
	if d.to.Role == spec.RolePrep && s.step > sp.start+20 {
		return false
	}
	return (sp.mask&(1<<d.to.Replica) != 0) != (m.digest == sp.d)
}

// steer is the adversary colluding with an equivocating Byzantine prep: while the
// primary of the correct confs' view is a correct prep, it now and then fires every
// timer, rotating the primary towards the Byzantine one.
func (s *sim) steer() {
	if !s.steering || len(s.splits) > 0 || s.rng.IntN(120) != 0 {
		return
	}
	p := s.cfg.Primary(s.minConfView())
	if nd := s.nodes[p][spec.RolePrep]; nd.byz == nil || nd.byz.beh&BEquivocate == 0 {
		s.suspectAll()
	}
}
