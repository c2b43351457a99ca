package swarm

import (
	"github.com/splitbft/splitbft/spec"
)

// retransmit is the fair brokers' retransmission (SPEC.md §13.3 obligation 6): each
// running compartment gets, once per epoch of its status (view, stable checkpoint,
// and for exec the last executed sequence number), every pooled message it could
// still use: slot messages of its view and window, view changes and new views above
// its view, checkpoints above its stable one, commits above what it executed.
// Messages from restarted enclaves are never retransmitted (no correct broker has
// reason to keep them).
func (s *sim) retransmit() {
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.silenced || s.failure != nil {
				continue
			}
			s.deliverGrouped(s.needed(nd))
		}
	}
	s.flush()
}

// needed returns the pooled messages nd could use and has not been given in its
// current epoch.
func (s *sim) needed(nd *node) []delivery {
	st := nd.status
	ep, ok := s.live.epoch[nd.id]
	if !ok || ep.View != st.View || ep.Stable != st.Stable || ep.ViewActive != st.ViewActive ||
		(nd.id.Role == spec.RoleExec && ep.Last != st.Last) {
		s.live.delivered[nd.id] = map[int]bool{}
		s.live.epoch[nd.id] = st
	}
	seen := s.live.delivered[nd.id]
	var out []delivery
	for _, d := range s.candidates(nd) {
		if !seen[d.msg] {
			seen[d.msg] = true
			out = append(out, d)
		}
	}
	return out
}

// candidates returns every pooled message (not from a restarted enclave) that nd
// could use in its current status.
func (s *sim) candidates(nd *node) []delivery {
	st := nd.status
	var out []delivery
	add := func(kind uint64, keep func(m *msg) bool, inKind uint64, header bool) {
		for _, id := range s.byKind[kind] {
			m := &s.pool[id]
			if m.origin == fromRestarted || !keep(m) {
				continue
			}
			body := m.body
			if header {
				body = m.header
			}
			out = append(out, delivery{msg: id, to: nd.id, kind: inKind, body: body})
		}
	}
	inWindow := func(m *msg) bool { return m.seq > st.Stable && m.seq <= st.Stable+s.cfg.Window }
	thisView := func(m *msg) bool { return m.view == st.View && inWindow(m) }
	above := func(m *msg) bool { return m.view > st.View }
	add(spec.KindCheckpoint, func(m *msg) bool { return m.seq > st.Stable }, spec.KindCheckpoint, false)
	add(spec.KindEpochChange, func(m *msg) bool { return m.epoch == nd.epoch+1 }, spec.KindEpochChange, false)
	switch nd.id.Role {
	case spec.RolePrep:
		add(spec.KindViewChange, above, spec.KindViewChange, false)
		add(spec.KindNewView, above, spec.KindNewView, false)
		add(spec.KindProposal, thisView, spec.KindProposal, false)
	case spec.RoleConf:
		add(spec.KindNewView, func(m *msg) bool { return m.view > st.View || (m.view == st.View && !st.ViewActive) }, spec.KindNewView, false)
		add(spec.KindProposal, thisView, spec.KindPrePrepare, true)
		add(spec.KindPrepare, thisView, spec.KindPrepare, false)
	case spec.RoleExec:
		add(spec.KindNewView, above, spec.KindNewView, false)
		add(spec.KindCommit, func(m *msg) bool { return m.seq > max(st.Stable, st.Last) && inWindow(m) }, spec.KindCommit, false)
		add(spec.KindEpochVote, func(m *msg) bool { return m.epoch == nd.epoch && m.from != nd.id }, spec.KindEpochVote, false)
	}
	return out
}

// actRetransmit is a broker retransmitting to its compartment some messages it could
// still use (in random order, subject to loss).
func (s *sim) actRetransmit() {
	nd := s.nodes[s.rng.Uint64N(s.cfg.N)][s.rng.IntN(3)]
	cs := s.candidates(nd)
	if len(cs) == 0 {
		return
	}
	var ds []delivery
	for range 1 + s.rng.IntN(8) {
		d := cs[s.rng.IntN(len(cs))]
		if !s.heldBack(d) && !s.crossesPartition(d) && !s.dropped(d) {
			ds = append(ds, d)
		}
	}
	if nd.id.Role == spec.RoleExec {
		for _, d := range ds {
			s.deliver(nd.id, []delivery{d})
		}
		return
	}
	s.deliver(nd.id, ds)
}
