package broker

import "github.com/splitbft/splitbft/spec"

// This file keeps from a compartment the inputs that its own rules would reject as
// stale, or accept to no effect, by what it last reported (SPEC.md §13.3 obligation
// 7): on a process or enclave boundary every Step call costs thread wake-ups and
// copies, and with few requests per batch these inputs were about a third of the
// Step calls (the fourth COMMIT of every slot reaches exec after it executed the
// slot; the last PREPARE reaches conf after it committed). Withholding is safe as any
// other message a broker does not deliver: the compartment would not have changed
// its state. It never withholds from a compartment whose status says it is not
// configured (before configure, or while exec replays), and it forgets what conf
// committed whenever conf is replaced or taken out of service or an epoch is adopted
// (resetInputs).

// slotOf returns the slot a decoded protocol message names, for the kinds withheld
// and the gate look at; seq 0 (never valid for them) for the others.
func slotOf(body any) (view, seq uint64, digest spec.Digest, sender uint64) {
	switch m := body.(type) {
	case *spec.Prepare:
		return m.Body.View, m.Body.Seq, m.Body.Digest, m.Body.Replica
	case *spec.PrePrepare:
		return m.Body.View, m.Body.Seq, m.Body.Digest, m.Body.Replica
	case *spec.Commit:
		return m.Body.View, m.Body.Seq, m.Body.Digest, m.Body.Replica
	case *spec.Checkpoint:
		return 0, m.Body.Seq, spec.Digest{}, m.Body.Replica
	}
	return 0, 0, spec.Digest{}, 0
}

// withheld reports whether in is not to be handed to role:
//   - a CHECKPOINT with Seq ≤ the compartment's stable checkpoint (CP3: stale);
//   - to exec, a COMMIT with Seq ≤ max(stable, last executed) (E5: stale), or a
//     proposal's batch exec no longer wants (execWants: the gate held it meanwhile);
//   - to conf, a PRE-PREPARE or PREPARE with Seq ≤ its stable checkpoint (Q5: stale,
//     or a view rule's rejection), or for a (View, Seq) for which it has emitted its
//     COMMIT (conf would store it, and it changes nothing: the slot is committed and
//     its prepared certificate formed).
func (r *Replica) withheld(role spec.Role, in *input) bool {
	st := &r.status[role]
	if in.seq == 0 || !st.Configured {
		return false
	}
	switch {
	case in.Kind == spec.KindCheckpoint:
		return in.seq <= st.Stable
	case role == spec.RoleExec && in.Kind == spec.KindCommit:
		return in.seq <= max(st.Stable, st.Last)
	case role == spec.RoleExec && in.Kind == spec.KindBatch: // a proposal's, held by the gate (a fetched one has seq 0)
		return !r.execWants(in.seq)
	case role == spec.RoleConf && (in.Kind == spec.KindPrepare || in.Kind == spec.KindPrePrepare):
		v, ok := r.confDone[in.seq]
		return in.seq <= st.Stable || ok && v == in.view
	}
	return false
}

// confCommitted records that the local conf emitted a COMMIT for (view, seq). At
// most 2L slots are kept (a faulty conf may emit anything), above conf's stable
// checkpoint.
func (r *Replica) confCommitted(c *spec.Commit) {
	s := &c.Body
	st := &r.status[spec.RoleConf]
	if s.Seq <= st.Stable || s.Seq > st.Stable+r.cfg.Window || uint64(len(r.confDone)) >= 2*r.cfg.Window {
		return
	}
	if r.confDone == nil {
		r.confDone = map[uint64]uint64{}
	}
	r.confDone[s.Seq] = s.View
}

// pruneConfDone forgets the slots at or below conf's stable checkpoint.
func (r *Replica) pruneConfDone(stable uint64) {
	for seq := range r.confDone {
		if seq <= stable {
			delete(r.confDone, seq)
		}
	}
}

// resetInputs drops the inputs queued or held for role, and with conf's what it
// committed.
func (r *Replica) resetInputs(role spec.Role) {
	r.in[role].Reset()
	r.gates[role] = gate{}
	if role == spec.RoleConf {
		clear(r.confDone)
	}
}
