package broker

import (
	"math/bits"

	"github.com/splitbft/splitbft/spec"
)

// This file holds back a slot's messages from conf and exec until the compartment can
// act on them (SPEC.md §13.3 obligation 7): conf commits a slot only once it holds 2f
// matching PREPAREs (§10.3), exec executes it only once it holds 2f+1 matching
// COMMITs (§11.4). Delivered as they arrive, a slot's PRE-PREPARE and PREPAREs took
// about two conf Step calls and its batch and COMMITs two to three exec Step calls,
// each a round trip across a process or enclave boundary; held until the message
// that completes the quorum, they take one each.
//
// Holding is a delay, never a loss: a slot's held inputs are queued the moment its
// count is reached, or once they have waited Options.GateTicks ticks, or when the held
// inputs of a compartment reach Options.QueueLimit, or when the slot falls at or below
// the compartment's stable checkpoint (then they are withheld as stale). After any
// of these the slot is open: what else arrives for it is queued at once, so a faulty
// peer that sends a forged message towards a quorum costs at most one early Step call.
// Only a configured compartment's slots inside its window (Stable, Stable+L] are
// held, conf's only in its current, active view; everything else is queued as
// before. The gate counts the sender a message names (one vote per replica and
// (View, Digest)); it checks no signature, which the compartment does.

// gate is one compartment's held slots.
type gate struct {
	slots map[uint64]*gateSlot // by Seq
	held  int                  // inputs held in all slots
}

// gateSlot is what a gate holds for one Seq.
type gateSlot struct {
	open  bool   // the slot's inputs go straight to the queue
	since uint64 // Replica.now when its first input was held
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

// gateRule says whether role's gate holds in, whether in counts towards its slot's
// quorum, and how many distinct senders open the slot.
func (r *Replica) gateRule(role spec.Role, in *input) (need int, counts, held bool) {
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

// hold reports whether role's gate took in: held for its slot, or queued because it
// completed its slot's quorum.
func (r *Replica) hold(role spec.Role, in input) bool {
	need, counts, ok := r.gateRule(role, &in)
	if !ok {
		return false
	}
	g := &r.gates[role]
	s := g.slots[in.seq]
	if s == nil {
		if g.slots == nil {
			g.slots = map[uint64]*gateSlot{}
		}
		s = &gateSlot{since: r.now}
		g.slots[in.seq] = s
	}
	if s.open {
		return false
	}
	s.held = append(s.held, in)
	g.held++
	r.m.Gated[role]++
	switch {
	case counts && s.count(in.view, in.digest, in.sender) >= need:
		r.release(role, s)
	case g.held > r.opt.QueueLimit:
		for _, s := range g.slots {
			r.release(role, s)
		}
	}
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

// tickGates releases the slots held for Options.GateTicks ticks (counted in
// Metrics.GateTimeouts) and forgets those at or below their compartment's stable
// checkpoint, queueing what they hold (withheld then drops it as stale).
func (r *Replica) tickGates() {
	for _, role := range []spec.Role{spec.RoleConf, spec.RoleExec} {
		g := &r.gates[role]
		for seq, s := range g.slots {
			switch {
			case seq <= r.status[role].Stable:
				r.release(role, s)
				delete(g.slots, seq)
			case !s.open && r.now-s.since >= uint64(r.opt.GateTicks):
				r.m.GateTimeouts[role] += uint64(len(s.held))
				r.release(role, s)
			}
		}
	}
}

// pruneGate forgets role's slots at or below stable (see tickGates).
func (r *Replica) pruneGate(role spec.Role, stable uint64) {
	g := &r.gates[role]
	for seq, s := range g.slots {
		if seq <= stable {
			r.release(role, s)
			delete(g.slots, seq)
		}
	}
}
