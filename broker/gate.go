package broker

import (
	"cmp"
	"maps"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// This file holds back a slot's messages from conf and exec until the compartment can
// act on them (SPEC.md §13.3 obligation 7): conf commits a slot only once it holds 2f
// matching PREPAREs (§10.3), exec executes it only once it holds 2f+1 matching
// COMMITs (§11.4). Delivered as they arrive, a slot's PRE-PREPARE and PREPAREs took
// about two conf Step calls and its batch and COMMITs two to three exec Step calls,
// each a round trip across a process or enclave boundary; held until the message
// that completes the count, they take one each.
//
// Holding is a delay, never a loss: a slot's held inputs are queued, in arrival order,
// the moment its count is reached or once they have waited Options.GateTicks ticks;
// they count towards the compartment's queue bound, so that a full queue releases all
// held slots, the longest held first, before it takes more; and a slot that leaves the
// compartment's
// window is forgotten, what it held queued (and withheld as stale below the window).
// After the count or the wait the slot is open: what else arrives for it is queued at
// once.
//
// The gate counts a PREPARE or COMMIT only from the broker of the replica it names (or
// from the local compartment that produced it): correct brokers send only their own
// compartments' messages, so this loses no correct vote, and a faulty peer votes for
// itself only. It keeps one vote per replica and slot (a higher view replaces it), and
// counts in twice the window, (Stable, Stable+2L], so that a message that reaches the
// compartment just after its window moves is counted too. It checks no signature,
// which the compartment does: a forged vote costs at most one early Step call. It
// holds only a configured compartment's slots inside its window (Stable, Stable+L],
// conf's only in its current, active view and of that view, exec's only above what it
// executed, and at most one input of a kind from one replica per slot: further ones
// (copies, or a later view's) are queued at once.

// gate is one compartment's held slots.
type gate struct {
	slots map[uint64]*gateSlot // by Seq, in (Stable, Stable+2L] of the compartment's Status
	held  int                  // inputs held in all slots
}

// gateSlot is what a gate holds for one Seq.
type gateSlot struct {
	open  bool   // the slot's inputs go straight to the queue
	since uint64 // Replica.now when its first held input was held
	held  []input
	votes []gateVote // at most one per replica
}

// gateVote is one replica's latest vote in a slot.
type gateVote struct {
	sender, view uint64
	digest       spec.Digest
}

// vote records sender's vote for (view, digest), unless it voted in a higher or the
// same view already, and returns how many replicas' votes are for (view, digest).
// (A conf keeps only its current view's PREPAREs, §10.2: a replica that moved to the
// next view while this conf has not yet loses its vote for this view's slots here,
// so during a view change a slot may wait GateTicks that conf could have committed.)
func (s *gateSlot) vote(view uint64, digest spec.Digest, sender uint64) int {
	i := slices.IndexFunc(s.votes, func(v gateVote) bool { return v.sender == sender })
	switch {
	case i < 0:
		s.votes = append(s.votes, gateVote{sender: sender, view: view, digest: digest})
	case view > s.votes[i].view:
		s.votes[i].view, s.votes[i].digest = view, digest
	}
	n := 0
	for _, v := range s.votes {
		if v.view == view && v.digest == digest {
			n++
		}
	}
	return n
}

// gateRule says whether in votes in its slot at role's gate, how many replicas' votes
// open the slot, and whether the gate may hold in.
func (r *Replica) gateRule(role spec.Role, in *input) (need int, counts, holds bool) {
	st := &r.status[role]
	own := in.sender < r.cfg.N && (in.from == in.sender+1 || in.from == 0 && in.sender == r.id)
	if in.seq == 0 || !own || in.seq <= st.Stable || in.seq > st.Stable+2*r.cfg.Window {
		return 0, false, false
	}
	live := st.Configured && in.seq <= st.Stable+r.cfg.Window
	switch {
	case role == spec.RoleConf && (in.Kind == spec.KindPrepare || in.Kind == spec.KindPrePrepare):
		// 2f PREPAREs complete a prepared certificate; its PRE-PREPARE may have come
		// in a NEW-VIEW, so the gate does not wait for one.
		return int(2 * r.cfg.F), in.Kind == spec.KindPrepare, live && st.ViewActive && in.view == st.View
	case role == spec.RoleExec && (in.Kind == spec.KindCommit || in.Kind == spec.KindBatch):
		return int(2*r.cfg.F + 1), in.Kind == spec.KindCommit, live && in.seq > st.Last
	}
	return 0, false, false
}

// hold reports whether role's gate held in. An in that completes its slot's count
// releases the slot's held inputs and is not held: push queues it after them.
func (r *Replica) hold(role spec.Role, in input) bool {
	need, counts, holds := r.gateRule(role, &in)
	if !counts && !holds {
		return false
	}
	g := &r.gates[role]
	s := g.slots[in.seq]
	if s == nil {
		if g.slots == nil {
			g.slots = map[uint64]*gateSlot{}
		}
		s = &gateSlot{}
		g.slots[in.seq] = s
	}
	if s.open {
		return false
	}
	if counts && s.vote(in.view, in.digest, in.sender) >= need {
		r.release(role, s)
		return false // queued after what the slot held
	}
	if !holds || g.held+r.in[role].Len() >= r.opt.QueueLimit || s.holds(in.Kind, in.sender) {
		return false // queued at once: not held here, the queue bound is reached, or a second one of its kind from its sender
	}
	if len(s.held) == 0 {
		s.since = r.now
	}
	s.held = append(s.held, in)
	g.held++
	r.m.Gated[role]++
	return true
}

// makeRoom releases all of role's held slots, the longest held first, when held and
// queued inputs fill its queue bound and another input is to be queued: held inputs
// count towards the bound, and what overflows is dropped, oldest queued first, as
// many as without the gate.
func (r *Replica) makeRoom(role spec.Role) {
	g := &r.gates[role]
	if g.held == 0 || g.held+r.in[role].Len() < r.opt.QueueLimit {
		return
	}
	var slots []*gateSlot
	for _, seq := range g.seqs() {
		if s := g.slots[seq]; len(s.held) > 0 {
			slots = append(slots, s)
		}
	}
	slices.SortStableFunc(slots, func(a, b *gateSlot) int { return cmp.Compare(a.since, b.since) })
	for _, s := range slots {
		r.release(role, s)
	}
}

// holds reports whether s holds an input of kind from sender.
func (s *gateSlot) holds(kind, sender uint64) bool {
	return slices.ContainsFunc(s.held, func(in input) bool { return in.Kind == kind && in.sender == sender })
}

// release queues what s holds, in arrival order, and opens it.
func (r *Replica) release(role spec.Role, s *gateSlot) {
	s.open = true
	r.gates[role].held -= len(s.held)
	held := s.held
	s.held, s.votes = nil, nil
	for _, in := range held {
		r.queue(role, in)
	}
}

// tickGates releases the slots whose inputs waited Options.GateTicks ticks (counted
// in Metrics.GateTimeouts), in Seq order.
func (r *Replica) tickGates() {
	for _, role := range []spec.Role{spec.RoleConf, spec.RoleExec} {
		g := &r.gates[role]
		if g.held == 0 {
			continue
		}
		for _, seq := range g.seqs() {
			if s := g.slots[seq]; len(s.held) > 0 && r.now-s.since >= uint64(r.opt.GateTicks) {
				r.m.GateTimeouts[role] += uint64(len(s.held))
				r.release(role, s)
			}
		}
	}
}

// pruneGate forgets, in Seq order, role's slots outside (stable, stable+2L], the
// compartment's new counting window, queueing what they hold (withheld drops it as
// stale below the window).
func (r *Replica) pruneGate(role spec.Role, stable uint64) {
	g := &r.gates[role]
	for _, seq := range g.seqs() {
		if seq <= stable || seq > stable+2*r.cfg.Window {
			r.release(role, g.slots[seq])
			delete(g.slots, seq)
		}
	}
}

// seqs returns the Seqs of g's slots in increasing order: the order in which they are
// released does not depend on map iteration (a simulation's seed replays a run).
func (g *gate) seqs() []uint64 {
	return slices.Sorted(maps.Keys(g.slots))
}
