package broker

import (
	"maps"
	"math/bits"
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
// the moment its count is reached or once they have waited Options.GateTicks ticks,
// and a slot at or below the compartment's stable checkpoint is forgotten, what it
// held queued (and withheld as stale). After the count or the wait the slot is open:
// what else arrives for it is queued at once. The gate counts every message of the
// counted kind inside the compartment's window, also one it queues at once (conf was
// changing views, say), by the sender it names (one vote per replica and (View,
// Digest)); it checks no signature, which the compartment does, so a forged vote
// costs at most one early Step call. It holds only a configured compartment's slots
// inside its window (Stable, Stable+L], conf's only in its current, active view, and
// nothing while held and queued inputs together fill Options.QueueLimit.

// gate is one compartment's held slots.
type gate struct {
	slots map[uint64]*gateSlot // by Seq
	held  int                  // inputs held in all slots
}

// gateSlot is what a gate holds for one Seq.
type gateSlot struct {
	open  bool   // the slot's inputs go straight to the queue
	since uint64 // Replica.now when its first held input was held
	held  []input
	votes []gateVote
}

// gateVote counts the senders of the counted kind for one (View, Digest).
type gateVote struct {
	view    uint64
	digest  spec.Digest
	senders uint64 // bit i: replica i (n ≤ 64, SPEC.md §6.1)
}

// count records sender's vote for (view, digest) and returns how many distinct
// senders voted for it.
func (s *gateSlot) count(view uint64, digest spec.Digest, sender uint64) int {
	for i := range s.votes {
		if v := &s.votes[i]; v.view == view && v.digest == digest {
			v.senders |= 1 << sender
			return bits.OnesCount64(v.senders)
		}
	}
	s.votes = append(s.votes, gateVote{view: view, digest: digest, senders: 1 << sender})
	return 1
}

// gateRule says whether in counts towards its slot's quorum at role's gate and how
// many distinct senders open the slot (counts false: in names no slot the gate
// looks at, or is of another kind), and whether the gate may hold it.
func (r *Replica) gateRule(role spec.Role, in *input) (need int, counts, holds bool) {
	st := &r.status[role]
	if in.seq == 0 || in.sender >= r.cfg.N || !st.Configured || in.seq <= st.Stable || in.seq > st.Stable+r.cfg.Window {
		return 0, false, false
	}
	switch {
	case role == spec.RoleConf && (in.Kind == spec.KindPrepare || in.Kind == spec.KindPrePrepare):
		// 2f PREPAREs complete a prepared certificate; its PRE-PREPARE may have come
		// in a NEW-VIEW, so the gate does not wait for one.
		return int(2 * r.cfg.F), in.Kind == spec.KindPrepare, st.ViewActive && in.view == st.View
	case role == spec.RoleExec && (in.Kind == spec.KindCommit || in.Kind == spec.KindBatch):
		return int(2*r.cfg.F + 1), in.Kind == spec.KindCommit, in.seq > st.Last
	}
	return 0, false, false
}

// hold reports whether role's gate took in: held for its slot, or queued with the
// slot's held inputs because it completed the slot's count.
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
	if counts && s.count(in.view, in.digest, in.sender) >= need {
		r.release(role, s)
		return false // queued after what the slot held
	}
	if !holds || g.held+r.in[role].Len() >= r.opt.QueueLimit {
		return false
	}
	if len(s.held) == 0 {
		s.since = r.now
	}
	s.held = append(s.held, in)
	g.held++
	r.m.Gated[role]++
	return true
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
		for _, seq := range g.seqs() {
			if s := g.slots[seq]; !s.open && len(s.held) > 0 && r.now-s.since >= uint64(r.opt.GateTicks) {
				r.m.GateTimeouts[role] += uint64(len(s.held))
				r.release(role, s)
			}
		}
	}
}

// pruneGate forgets role's slots at or below stable, in Seq order, queueing what they
// hold (withheld drops it as stale).
func (r *Replica) pruneGate(role spec.Role, stable uint64) {
	g := &r.gates[role]
	for _, seq := range g.seqs() {
		if seq <= stable {
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
