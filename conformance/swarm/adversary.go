package swarm

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// adversaryStep performs one safety-phase action.
func (s *sim) adversaryStep() {
	a := actWholeRestart
	if !s.wholeRestartDue() {
		a = s.choose(s.rng.Float64())
	}
	s.stats.Actions[a]++
	switch a {
	case actWholeRestart:
		s.wholeRestart()
	case actDeliver:
		s.actDeliver()
	case actReplay:
		s.actReplay()
	case actClientBatch:
		if !s.actClientBatch() {
			s.actReplay()
		}
	case actSuspect:
		s.actSuspect()
	case actIssue:
		s.issue(s.clients[s.rng.IntN(len(s.clients))])
	case actReply:
		s.actReply()
	case actStateReq:
		s.actStateRequest()
	case actByz:
		s.actByz()
	case actRestart:
		s.actRestart()
	case actPartition:
		s.actPartition()
	case actRetransmit:
		s.actRetransmit()
	case actAdmit:
		s.actAdmit()
	}
	s.healPartition(s.step)
	if s.step >= s.episode.until {
		s.newEpisode()
	}
	s.endSplits()
	s.steer()
}

// episode is a stretch of the safety phase during which the adversary withholds some
// routes from some replicas (selective delivery: a message reaches one compartment of
// a replica and not another, or some replicas and not others), possibly ending in a
// view change that the whole cluster joins.
type episode struct {
	until      int
	withhold   []maskedRoute
	endSuspect bool
	name       string
}

// maskedRoute is a route withheld from the replicas in mask.
type maskedRoute struct {
	Route
	mask uint64
}

// newEpisode ends the current episode (with its view change, if any) and starts the
// next: quiet, random withheld routes, or one of two campaigns aimed at the view
// change — "hide" withholds PRE-PREPAREs from most confs (so that what commits leaves
// no prepared certificate behind) and COMMITs from some execs, "split" only the
// COMMITs; both end in a view change while some execs lag behind the others.
func (s *sim) newEpisode() {
	if s.episode.endSuspect && s.lastSuspectAll != s.step {
		s.suspectAll()
	}
	s.episode = episode{until: s.step + 100 + s.rng.IntN(300), name: "quiet"}
	if s.rng.Float64() >= s.p.Selective {
		return
	}
	all := uint64(1)<<s.cfg.N - 1
	strict := func() uint64 { return 1 + s.rng.Uint64N(all-1) } // a nonempty proper subset
	switch s.rng.IntN(5) {
	case 0:
		s.episode.name = "withhold"
		for range 1 + s.rng.IntN(2) {
			r := drawWithhold(s.rng, 1)[0]
			mask := all
			if s.rng.IntN(2) == 0 {
				mask = strict()
			}
			s.episode.withhold = append(s.episode.withhold, maskedRoute{r, mask})
		}
	case 1, 2:
		s.episode.name = "hide"
		ppMask := all
		if s.rng.IntN(2) == 0 {
			ppMask &^= 1 << s.rng.Uint64N(s.cfg.N)
		}
		s.episode.withhold = []maskedRoute{{Route{spec.KindPrePrepare, spec.RoleConf}, ppMask},
			{Route{spec.KindCommit, spec.RoleExec}, strict()}}
		s.episode.endSuspect = true
	default:
		s.episode.name = "split"
		s.episode.withhold = []maskedRoute{{Route{spec.KindCommit, spec.RoleExec}, strict()}}
		s.episode.endSuspect = true
	}
	s.episode.until = s.step + 60 + s.rng.IntN(200)
	s.logf("  episode %s until %d withholding %v", s.episode.name, s.episode.until, s.episode.withhold)
}

// pickPending chooses a pending delivery, mostly among the oldest (a network with
// some reordering), never across an active partition.
func (s *sim) pickPending() (int, bool) {
	if len(s.splits) > 0 && s.rng.IntN(5) != 0 { // (lags alone get no fast lane)
		if i, ok := s.pickSplit(); ok {
			return i, true
		}
	}
	for range 6 {
		if len(s.pending) == 0 {
			return 0, false
		}
		i := s.rng.IntN(len(s.pending))
		if s.rng.IntN(4) != 0 {
			i = s.rng.IntN(min(len(s.pending), 12))
		}
		if !s.crossesPartition(s.pending[i]) && !s.heldBack(s.pending[i]) {
			return i, true
		}
	}
	return 0, false
}

// pickSplit finds a deliverable message of a slot under split-brain attack: the
// adversary gives its attack a fast lane.
func (s *sim) pickSplit() (int, bool) {
	var cands []int
	for i := len(s.pending) - 1; i >= 0 && i >= len(s.pending)-800; i-- {
		d := s.pending[i]
		if d.msg < 0 {
			continue
		}
		m := &s.pool[d.msg]
		if m.kind != spec.KindProposal && m.kind != spec.KindPrepare && m.kind != spec.KindCommit {
			continue
		}
		if _, ok := s.splits[[2]uint64{m.view, m.seq}]; ok && !s.heldBack(d) && !s.crossesPartition(d) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	return cands[s.rng.IntN(len(cands))], true
}

// crossesPartition reports whether a delivery goes between the two sides of the
// active partition.
func (s *sim) crossesPartition(d delivery) bool {
	if s.partition == 0 || d.msg < 0 {
		return false
	}
	from := s.pool[d.msg].from.Replica
	return (s.partition>>from)&1 != (s.partition>>d.to.Replica)&1
}

// actDeliver delivers, drops or duplicates a few pending messages (with their
// bursts).
func (s *sim) actDeliver() {
	for range 1 + s.rng.IntN(4) {
		s.deliverOne()
	}
}

// deliverOne delivers, drops or duplicates one pending message.
func (s *sim) deliverOne() {
	if s.rng.Float64() < s.p.Replay {
		s.actReplay()
		return
	}
	i, ok := s.pickPending()
	if !ok {
		if !s.actClientBatch() { // an idle network: the primary's broker cuts a batch
			s.actReplay()
		}
		return
	}
	d := s.pending[i]
	if s.rng.Float64() >= s.p.Dup {
		s.pending = slices.Delete(s.pending, i, i+1)
	} else {
		s.stats.Duplicated++
	}
	if s.dropped(d) {
		return
	}
	ds := append([]delivery{d}, s.burst(d.to)...)
	s.stats.Delivered += len(ds)
	if d.to.Role == spec.RoleExec { // one input per Step: the oracles see every execution
		for _, x := range ds {
			s.deliver(x.to, []delivery{x})
		}
		return
	}
	s.deliver(d.to, ds)
}

// dropped reports whether the adversary drops a delivery it took off the queue.
func (s *sim) dropped(d delivery) bool {
	if s.rng.Float64() < s.p.Loss || (s.withheld(d) && s.rng.IntN(10) != 0) {
		s.stats.Dropped++
		return true
	}
	return false
}

// burst takes up to a few more pending deliveries for the same compartment off the
// front of the queue (a broker delivers what it has queued in one enclave call),
// each subject to loss.
func (s *sim) burst(to enclaveID) []delivery {
	want := s.rng.IntN(burstMax + 1)
	var out []delivery
	for i := 0; i < len(s.pending) && i < 40 && len(out) < want; {
		d := s.pending[i]
		if d.to != to || s.crossesPartition(d) || s.heldBack(d) {
			i++
			continue
		}
		s.pending = slices.Delete(s.pending, i, i+1)
		if !s.dropped(d) {
			out = append(out, d)
		}
	}
	return out
}

// withheld reports whether the run's selective-delivery routes cover d.
func (s *sim) withheld(d delivery) bool {
	for _, r := range s.p.Withhold {
		if r.Kind == d.kind && r.Role == d.to.Role {
			return true
		}
	}
	for _, r := range s.episode.withhold {
		if r.Kind == d.kind && r.Role == d.to.Role && r.mask&(1<<d.to.Replica) != 0 {
			return true
		}
	}
	return false
}

// actReplay delivers a message from the pool, recent or old, by the routing table or
// to any compartment of a role that accepts its kind.
func (s *sim) actReplay() {
	if len(s.pool) == 0 {
		return
	}
	id := s.rng.IntN(len(s.pool))
	if s.rng.IntN(2) == 0 {
		id = len(s.pool) - 1 - s.rng.IntN(min(len(s.pool), 40))
	}
	var d delivery
	if rs := s.routes(id); len(rs) > 0 && s.rng.IntN(10) < 7 {
		d = rs[s.rng.IntN(len(rs))]
	} else {
		d = s.anyRoute(id)
	}
	if s.heldBack(d) || s.crossesPartition(d) {
		return
	}
	s.stats.Replayed++
	s.deliver(d.to, []delivery{d})
}

// actClientBatch hands client requests to a prep, mostly to one that believes itself
// the primary: mostly requests not yet handed to that prep in its view, sometimes
// outstanding ones again (a broker's retransmission) or old ones (replays). It
// reports whether it handed anything.
func (s *sim) actClientBatch() bool {
	to := s.primaryPrep()
	if s.rng.IntN(5) == 0 {
		to = s.rng.Uint64N(s.cfg.N)
	}
	view := s.nodes[to][spec.RolePrep].status.View
	var reqs []request
	retry := s.rng.IntN(6) == 0
	for _, r := range s.outstanding() {
		k := [3]uint64{to, view | s.nodes[to][spec.RolePrep].epoch<<40, r.client<<32 | r.ts}
		if retry || !s.handed[k] {
			s.handed[k] = true
			reqs = append(reqs, r)
		}
	}
	for len(s.requests) > 0 && s.rng.IntN(8) == 0 {
		reqs = append(reqs, s.requests[s.rng.IntN(len(s.requests))])
	}
	if len(reqs) == 0 {
		return false
	}
	s.rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	k := min(len(reqs), 1+s.rng.IntN(int(s.cfg.MaxBatchRequests)))
	if s.rng.IntN(30) == 0 {
		k = len(reqs) // sometimes over the limit: batch-limit
	}
	var b spec.Batch
	for _, r := range reqs[:k] {
		var req spec.Request
		if spec.Decode(r.raw, &req, spec.MaxBodyBytes(spec.KindRequest)) == nil {
			b.Requests = append(b.Requests, req)
		}
	}
	s.stats.ClientBatches++
	s.deliver(enclaveID{spec.RolePrep, to}, []delivery{{msg: -1, to: enclaveID{spec.RolePrep, to}, kind: spec.KindClientBatch, body: spec.Encode(&b)}})
	return true
}

// primaryPrep returns the replica whose prep believes itself the primary of the
// highest view any prep is in.
func (s *sim) primaryPrep() uint64 {
	best, view := uint64(0), uint64(0)
	for r := range s.cfg.N {
		st := s.nodes[r][spec.RolePrep].status
		if st.View%s.cfg.N == r && st.View >= view {
			best, view = r, st.View
		}
	}
	return best
}

// actSuspect fires a conf's timer: mostly for its current view, sometimes for the
// wrong one. Views of correct confs are kept within a small spread so that the
// liveness phase can bring them together in bounded time.
func (s *sim) actSuspect() {
	if s.rng.IntN(3) != 0 {
		s.suspectAll()
		return
	}
	r := s.rng.Uint64N(s.cfg.N)
	nd := s.nodes[r][spec.RoleConf]
	v := nd.status.View
	if v > s.minConfView()+2 {
		return
	}
	switch s.rng.IntN(10) {
	case 0:
		v++
	case 1:
		if v > 0 {
			v--
		}
	}
	s.stats.Suspects++
	body := spec.Encode(&spec.Suspect{View: v})
	s.deliver(nd.id, []delivery{{msg: -1, to: nd.id, kind: spec.KindSuspect, body: body}})
}

// minConfView returns the lowest view among correct confs.
func (s *sim) minConfView() uint64 {
	m := ^uint64(0)
	for r := range s.cfg.N {
		if nd := s.nodes[r][spec.RoleConf]; nd.correct() {
			m = min(m, nd.status.View)
		}
	}
	return m
}

// actReply delivers, drops or duplicates a few replies to their clients.
func (s *sim) actReply() {
	for range 1 + s.rng.IntN(8) {
		if len(s.replies) == 0 {
			return
		}
		i := s.rng.IntN(min(len(s.replies), 8))
		rd := s.replies[i]
		if s.rng.Float64() >= s.p.Dup {
			s.replies = slices.Delete(s.replies, i, i+1)
		}
		if s.rng.Float64() >= s.p.Loss {
			s.handReply(rd)
		}
	}
}

// actStateRequest asks an exec for the state another exec needs (or for a state it
// does not have).
func (s *sim) actStateRequest() {
	r := s.rng.Uint64N(s.cfg.N)
	for k := range s.cfg.N {
		if s.nodes[(r+k)%s.cfg.N][spec.RoleExec].status.NeedState {
			r = (r + k) % s.cfg.N
			break
		}
	}
	st := s.nodes[r][spec.RoleExec].status
	d, ok := s.certifiedState(st.Stable)
	if !ok || s.rng.IntN(8) == 0 {
		d = s.randomDigest()
	}
	req := spec.StateRequest{Seq: st.Stable, State: d, Replica: r}
	to := (r + 1 + s.rng.Uint64N(s.cfg.N-1)) % s.cfg.N
	id := enclaveID{spec.RoleExec, to}
	s.deliver(id, []delivery{{msg: -1, to: id, kind: spec.KindStateRequest, body: spec.Encode(&req)}})
}

// actByz lets a random Byzantine enclave act.
func (s *sim) actByz() {
	var byz []*node
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.byz != nil {
				byz = append(byz, nd)
			}
		}
	}
	if len(byz) > 0 {
		s.byzAct(byz[s.rng.IntN(len(byz))])
	}
}

// actPartition starts a partition (a random nonempty proper subset of replicas on
// one side) for a while, or heals the active one.
func (s *sim) actPartition() {
	if s.partition != 0 {
		s.partition = 0
		return
	}
	all := uint64(1)<<s.cfg.N - 1
	s.partition = 1 + s.rng.Uint64N(all-1)
	s.partitionUntil = s.step + 50 + s.rng.IntN(300)
	s.stats.Partitions++
	s.logf("  partition %b until step %d", s.partition, s.partitionUntil)
}

// suspectAll fires every conf's timer for its current view at once (a view change
// that the whole cluster joins), keeping the spread of correct views small.
func (s *sim) suspectAll() {
	s.lastSuspectAll = s.step
	low := s.minConfView()
	for r := range s.cfg.N {
		nd := s.nodes[r][spec.RoleConf]
		if nd.status.View > low+2 || nd.silenced {
			continue
		}
		s.stats.Suspects++
		body := spec.Encode(&spec.Suspect{View: nd.status.View})
		s.deliver(nd.id, []delivery{{msg: -1, to: nd.id, kind: spec.KindSuspect, body: body}})
	}
}

// burstMax bounds the extra deliveries of a burst.
const burstMax = 5
