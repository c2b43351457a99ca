package broker

import "github.com/splitbft/splitbft/spec"

// This file holds the two rules that keep one broker from taking its conf out of the
// cluster's view alone (SPEC.md §13.3 obligation 5, §10.4):
//
//   - suspicion gating: an expired request timer is announced to the peers (Hint.Suspect)
//     and turns into suspect{v} only when f other brokers announce one for view v too;
//   - return to service: a conf left alone in a higher view is fetched back by the group,
//     which moves up to it after LoneViewTicks of progress without it.

// expired reports whether some pending request's timer has expired. An expired
// request's client signature is checked first (once; SPEC §13.3 obligation 5): one
// that fails it is dropped and suspects no one.
func (r *Replica) expired() bool {
	for c, p := range r.pending {
		if p.deadline <= r.now && r.pendingGenuine(c, p) {
			return true
		}
	}
	return false
}

// suspecting reports whether this broker suspects its conf's view: the view is active,
// this replica is a backup in it, and either it delivered suspect for that view
// already, or its exec is not behind and a request timer expired. It is what
// Hint.Suspect tells the peers. A broker that suspected keeps saying so while its
// conf stays in the view: delivering suspect restarts its timers, and a peer whose
// own timer expired a moment later must still find f others suspecting, or it would
// wait for the next expiry, a backoff later.
func (r *Replica) suspecting() bool {
	conf := &r.status[spec.RoleConf]
	if !conf.ViewActive || r.cfg.Primary(conf.View) == r.id {
		return false
	}
	return r.suspected && r.suspectedView == conf.View || !r.behind() && r.expired()
}

// tickSuspicion handles an expired request timer in active view v (this replica a
// backup, its exec not behind): it tells the peers at once, and delivers suspect{v}
// once f+1 distinct brokers, itself included, suspect v. The timeout then doubles and
// the timers restart.
//
// Why gated (SPEC.md §13.3 obligation 5): a broker cut off from the others, or one
// whose exec cannot answer a request, would otherwise take its conf into view v+1
// alone, where it waits for a NEW-VIEW that never comes. With a faulty primary every
// correct backup's timer expires, and 2f ≥ f+1 of them are correct, so the view
// change still happens; f faulty brokers alone cannot start one.
func (r *Replica) tickSuspicion(v uint64) {
	if !r.expired() {
		r.announced = false
		return
	}
	if !r.announced {
		r.m.Expiries++
		r.announced = true
		r.sendHints()
	}
	if r.suspicionQuorum(v) {
		r.backoff++
		r.restartTimers()
		r.announced = false
		r.suspect(v)
	}
}

// suspicionQuorum reports whether f other brokers' latest hints say they suspect view
// v (their conf active in v of this broker's epoch and a request timer expired).
func (r *Replica) suspicionQuorum(v uint64) bool {
	n := uint64(1)
	for p := range r.cfg.N {
		if h := &r.hints[p]; p != r.id && h.Suspect && h.Active && h.View == v && h.Epoch == r.cfg.Epoch {
			n++
		}
	}
	return n >= r.cfg.F+1
}

// tickLone returns a lone conf to service (SPEC.md §10.4, §13.3 obligation 5): while
// conf is active in view v and another replica's validly signed VIEW-CHANGE for a view
// above v is known, and that has lasted LoneViewTicks while the local exec executed
// something, suspect{v} is delivered, so that the group moves up to the lone conf
// (moving the lone conf back down is unsafe: §15). The rule holds for the primary's
// broker too: the NEW-VIEW may need its conf's VIEW-CHANGE.
//
// Budget: a faulty replica, by signing VIEW-CHANGEs alone, forces at most one view
// change per LoneViewTicks, and only while the cluster makes progress.
func (r *Replica) tickLone(v uint64) {
	exec := r.status[spec.RoleExec].Last
	switch {
	case !r.loneAbove(v):
		r.lone = false
	case !r.lone || r.loneView != v:
		r.lone, r.loneView, r.loneSince, r.loneExec = true, v, r.now, exec
	case r.now-r.loneSince >= uint64(r.opt.LoneViewTicks) && exec > r.loneExec:
		r.lone = false
		r.m.LoneJoins++
		r.suspect(v)
	}
}

// loneAbove reports whether another replica's validly signed VIEW-CHANGE names a view
// above v.
func (r *Replica) loneAbove(v uint64) bool {
	for s, w := range r.vcViews {
		if s != r.id && w > v {
			return true
		}
	}
	return false
}
