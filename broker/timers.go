package broker

import (
	"cmp"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// timers holds the request timers and view-change state (SPEC.md §13.3 obligation 5).
type timers struct {
	pending       map[uint64]*pendingReq // by client: its newest request not yet answered by the local exec
	lastDone      map[uint64]uint64      // by registered client: highest timestamp the local exec replied to
	arrivals      uint64                 // counter ordering pending entries for eviction
	backoff       int                    // consecutive suspicions without execution progress
	vcDeadline    uint64                 // while conf changes view: when to suspect the next view …
	vcTimer       bool                   // … once that timer runs (q VIEW-CHANGEs for the view are known)
	suspected     bool                   // a suspect was delivered …
	suspectedView uint64                 // … for this conf view (never twice for one view)
	vcViews       map[uint64]uint64      // by sender < n: highest view of a validly signed VIEW-CHANGE
	announced     bool                   // peers were told at once that a request timer expired
	lone          bool                   // a lone VIEW-CHANGE above conf's active view is known …
	loneView      uint64                 // … while conf is active in this view …
	loneSince     uint64                 // … since this tick …
	loneExec      uint64                 // … when exec's Last was this
}

// pendingReq is a request with a running timer. Invariant: req.Body.Timestamp >
// lastDone[client].
type pendingReq struct {
	req      spec.Request
	deadline uint64 // tick at which the timer expires
	arrival  uint64
	verified bool // its client signature passed R5 (on arrival at a backup, or when the timer expired)
}

func (t *timers) init() {
	t.pending = map[uint64]*pendingReq{}
	t.lastDone = map[uint64]uint64{}
	t.vcViews = map[uint64]uint64{}
}

// timeout is the current request timeout: doubled per consecutive suspicion.
func (r *Replica) timeout() uint64 {
	return uint64(r.opt.RequestTimeoutTicks) << min(r.backoff, r.opt.MaxBackoffShift)
}

// startTimer starts the timer of a request that is newer than anything the local exec
// answered for its client and than the client's pending request. An older or equal
// timestamp (a retransmission or a replay) keeps the running timer or starts none.
//
// SPEC.md §13.3 obligation 5, and why: exec answers a replayed or old request with
// nothing (§11.5 step 1), so a timer for it would expire and make correct brokers
// suspect a correct primary on a faulty client's say-so.
func (r *Replica) startTimer(q *spec.Request) {
	c, ts := q.Body.Client, q.Body.Timestamp
	if ts <= r.lastDone[c] {
		return
	}
	if p := r.pending[c]; p != nil && ts <= p.req.Body.Timestamp {
		return
	}
	if r.pending[c] == nil && len(r.pending) >= r.opt.PendingLimit {
		r.evictOldestPending()
	}
	r.arrivals++
	r.pending[c] = &pendingReq{req: *q, deadline: r.now + r.timeout(), arrival: r.arrivals}
}

// evictOldestPending drops the pending request that arrived first.
func (r *Replica) evictOldestPending() {
	var oldest uint64
	var found *pendingReq
	for c, p := range r.pending {
		if found == nil || p.arrival < found.arrival {
			oldest, found = c, p
		}
	}
	delete(r.pending, oldest)
	r.m.QueueDrops++
}

// replied records that the local exec answered client c at timestamp ts and stops
// the timer of any request of c it covers.
func (r *Replica) replied(c, ts uint64) {
	if r.cfg.Client(c) == nil {
		return
	}
	r.lastDone[c] = max(r.lastDone[c], ts)
	if p := r.pending[c]; p != nil && p.req.Body.Timestamp <= ts {
		delete(r.pending, c)
	}
}

// pendingSorted returns the pending requests ordered by client id (deterministic).
func (r *Replica) pendingSorted() []*pendingReq {
	out := make([]*pendingReq, 0, len(r.pending))
	for _, p := range r.pending {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pendingReq) int { return cmp.Compare(a.req.Body.Client, b.req.Body.Client) })
	return out
}

// restartTimers gives every pending request a full timeout from now.
func (r *Replica) restartTimers() {
	for _, p := range r.pending {
		p.deadline = r.now + r.timeout()
	}
}

// tickTimers runs the request timers while conf's view is active and this replica is a
// backup in it, and the view-change timer while the view is not active. An expired
// request timer makes this broker suspect the current view; it delivers the suspect
// only together with f other brokers (suspicion gating, suspicion.go). While the local
// exec is behind (behind), the request timers wait: they restart from each tick. The
// return-to-service rule (tickLone) runs in every active view, the primary's included.
//
// As in PBFT only backups' timers suspect (SPEC.md §13.3 obligation 5): the primary's
// broker times every request (clients send to it first), so a brief lag of its own exec
// (a lost COMMIT) would make it suspect its own correct replica and take its conf out of
// the view, which stalls the cluster when only q replicas are up. Its timers keep
// running and count again once it is a backup (or it joins the backups' view change
// through the f+1 rule).
func (r *Replica) tickTimers() {
	conf := &r.status[spec.RoleConf]
	if !conf.ViewActive {
		r.announced = false
		r.tickViewChange(conf.View)
		return
	}
	r.tickLone(conf.View)
	if r.cfg.Primary(conf.View) == r.id {
		return
	}
	if r.behind() {
		r.restartTimers()
	}
	r.tickSuspicion(conf.View)
}

// behind reports whether the local exec is known to lag the cluster, so that it cannot
// answer a request yet whatever the primary does: it waits for a state transfer, or f+1
// peers' hints (so at least one correct replica's) report a stable checkpoint above
// what it has executed (SPEC.md §13.3 obligation 5). Timers left running would expire
// while the replica catches up and make it suspect a primary that the others follow
// (its conf then waits alone in the next view). A replica cut off from its peers gets
// no hints and still suspects, as it must.
func (r *Replica) behind() bool {
	exec := &r.status[spec.RoleExec]
	if exec.NeedState {
		return true
	}
	n := uint64(0)
	for p := range r.cfg.N {
		if p != r.id && r.hints[p].Stable > exec.Last {
			n++
		}
	}
	return n >= r.cfg.F+1
}

// tickViewChange runs the view-change timer of view w, as PBFT does: it starts only
// once VIEW-CHANGEs for w (or later) from q distinct confs are known, so that a
// replica does not race ahead of the others to a view nobody else is in (a NEW-VIEW
// needs q VIEW-CHANGEs for one view); when it expires, the next view is suspected.
func (r *Replica) tickViewChange(w uint64) {
	r.startViewChangeTimer()
	if r.vcTimer && r.now >= r.vcDeadline {
		r.backoff++
		r.vcTimer = false
		r.suspect(w)
	}
}

// startViewChangeTimer starts the view-change timer while conf changes to view w and
// VIEW-CHANGEs for w or later from q distinct confs are known.
func (r *Replica) startViewChangeTimer() {
	conf := &r.status[spec.RoleConf]
	if conf.ViewActive || r.vcTimer {
		return
	}
	n := 0
	for _, v := range r.vcViews {
		if v >= conf.View {
			n++
		}
	}
	if n >= r.cfg.Quorum() {
		r.vcTimer, r.vcDeadline = true, r.now+r.timeout()
	}
}

// suspect delivers Suspect{view} to the local conf, at most once per view.
func (r *Replica) suspect(view uint64) {
	if r.suspected && view <= r.suspectedView {
		return
	}
	r.suspected, r.suspectedView = true, view
	r.m.Suspects++
	r.enqueue(spec.RoleConf, spec.KindSuspect, spec.Encode(&spec.Suspect{View: view}))
}

// checkJoin joins a view change that f+1 other confs have started: when f+1 validly
// signed VIEW-CHANGEs name views above the local conf's view, suspect that view.
//
// SPEC.md §13.3 obligation 5: PBFT joins at the smallest view of the f+1; Suspect{v}
// only moves conf to v+1 (§10.4). The broker re-checks after each conf status, so repeated
// suspects walk conf up one view at a time while f+1 are still above it.
func (r *Replica) checkJoin() {
	v := r.status[spec.RoleConf].View
	n := uint64(0)
	for _, w := range r.vcViews {
		if w > v {
			n++
		}
	}
	if n >= r.cfg.F+1 {
		r.suspect(v)
	}
}

// recordViewChange remembers the view of a validly signed VIEW-CHANGE for checkJoin.
func (r *Replica) recordViewChange(vc *spec.ViewChange) {
	s := vc.Body.Replica
	if s >= r.cfg.N || vc.Body.View <= r.vcViews[s] {
		return
	}
	key := r.cfg.Replicas[s].Conf.Body.SignKey
	if !verifySig(key, spec.DomainViewChange, r.cd, spec.Encode(&vc.Body), &vc.Sig) {
		return
	}
	r.vcViews[s] = vc.Body.View
	r.checkJoin()
	r.startViewChangeTimer()
}

// onConfStatus restarts the request timers when a view becomes active and starts the
// view-change timer when a view change begins.
func (r *Replica) onConfStatus(old, st spec.Status) {
	switch {
	case st.ViewActive && (!old.ViewActive || st.View != old.View):
		r.restartTimers()
	case !st.ViewActive && (old.ViewActive || st.View != old.View):
		r.vcTimer = false
		r.startViewChangeTimer()
	}
}

// onExecStatus resets the back-off on execution progress.
//
// SPEC.md §13.3 obligation 5: the back-off resets when exec makes progress (the new
// primary is working). A state transfer executes requests without local replies; the
// timers of those it covered are stopped by exec's transfer summary (§11.7,
// onSummary), which advances lastDone as replies do, so a delayed, duplicated or
// replayed copy of a covered request starts no timer either.
func (r *Replica) onExecStatus(old, st spec.Status) {
	if st.Last > old.Last {
		r.backoff = 0
		r.progressAt = r.now
		if r.opt.Ledger != nil {
			r.opt.Ledger.Executed(st.Last, r.cachedBatch)
		}
	}
}
