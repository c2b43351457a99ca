package swarm

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// liveness runs the liveness phase: every Byzantine and restarted enclave is silenced
// (it crashed), partitions heal and every broker becomes fair: it delivers everything
// in order, retransmits what a lagging compartment still needs, proposes outstanding
// requests to the primary, fetches batches and state for execs, and fires request
// timers when nothing progresses (SPEC.md §13.3), and completes the admission of
// every restarted enclave (SPEC.md §17.5; a forked one stays silent). Each client must
// then complete its outstanding request (every client has one) and every restarted
// enclave must be admitted and configured, within LivenessSteps compartment steps;
// then every correct replica's conf must be active again (returnToService).
func (s *sim) liveness() {
	s.phase = "liveness"
	s.partition = 0
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			nd.silenced = !nd.correct()
		}
	}
	for _, c := range s.clients {
		s.issue(c)
	}
	s.live = &fairState{delivered: map[enclaveID]map[int]bool{}, proposed: map[[3]uint64]bool{}, epoch: map[enclaveID]spec.Status{}}
	start, idle := s.step, 0
	for s.failure == nil {
		if len(s.outstanding()) == 0 && len(s.openAdmissions()) == 0 {
			s.returnToService()
			s.stats.LivenessSteps = s.step - start
			return
		}
		if s.step-start >= s.opt.LivenessSteps {
			s.fail("liveness", "%d requests still outstanding and %d restarted enclaves not admitted after %d steps with a fair network; %s",
				len(s.outstanding()), len(s.openAdmissions()), s.step-start, s.statusSummary())
			if s.storeFullNeeded > 0 {
				s.failure.Detail += fmt.Sprintf("; correct execs refused %d needed batches as store-full", s.storeFullNeeded)
			}
			return
		}
		mark := s.progressMark()
		s.flush()
		if s.progressMark() != mark {
			idle = 0
			continue
		}
		idle++
		s.recoverRound(idle)
	}
}

// fairState is what the fair broker remembers.
type fairState struct {
	delivered map[enclaveID]map[int]bool // pool messages retransmitted to a node in its current epoch
	epoch     map[enclaveID]spec.Status  // the status the delivered set belongs to
	proposed  map[[3]uint64]bool         // (prep replica, view, client<<32|ts) handed to that primary
}

// progressMark summarises progress: completions, executed sequence numbers and views.
func (s *sim) progressMark() [3]uint64 {
	var m [3]uint64
	m[0] = uint64(s.stats.Completed + s.stats.Admitted<<20)
	for r := range s.nodes {
		if nd := s.nodes[r][spec.RoleExec]; nd.correct() {
			m[1] += nd.status.Last
		}
		if nd := s.nodes[r][spec.RoleConf]; nd.correct() {
			m[2] += nd.status.View
			if nd.status.ViewActive {
				m[2]++
			}
		}
	}
	return m
}

// flush delivers every pending message in order (grouped per compartment, one input
// per Step for execs so that the oracles see each execution) and every reply, until
// nothing is pending.
func (s *sim) flush() {
	for rounds := 0; (len(s.pending) > 0 || len(s.replies) > 0) && s.failure == nil; rounds++ {
		for len(s.replies) > 0 {
			rd := s.replies[0]
			s.replies = s.replies[1:]
			s.handReply(rd)
		}
		batch := s.pending
		s.pending = nil
		s.deliverGrouped(batch)
		if rounds > 1000 {
			return
		}
	}
}

// deliverGrouped delivers deliveries grouped per target, in first-seen order.
func (s *sim) deliverGrouped(ds []delivery) {
	var order []enclaveID
	groups := map[enclaveID][]delivery{}
	for _, d := range ds {
		if s.nodes[d.to.Replica][d.to.Role].silenced {
			continue
		}
		if _, ok := groups[d.to]; !ok {
			order = append(order, d.to)
		}
		groups[d.to] = append(groups[d.to], d)
	}
	for _, id := range order {
		g := groups[id]
		size := 16
		if id.Role == spec.RoleExec {
			size = 1
		}
		for len(g) > 0 && s.failure == nil {
			k := min(size, len(g))
			s.step++
			s.deliver(id, g[:k])
			g = g[k:]
		}
	}
}

// recoverRound is what a fair broker does when the network is quiet and requests are
// outstanding: propose them, feed the execs, retransmit, and after a while fire the
// request timers.
func (s *sim) recoverRound(idle int) {
	s.fairAdmit()
	s.proposeOutstanding(idle > 2)
	s.feedExecs()
	s.retransmit()
	if idle%3 == 0 {
		s.fireTimers()
	}
}

// proposeOutstanding hands the outstanding requests to every correct prep that
// believes itself the primary of its view (again, if force).
func (s *sim) proposeOutstanding(force bool) {
	reqs := s.outstanding()
	for r := range s.cfg.N {
		nd := s.nodes[r][spec.RolePrep]
		if nd.silenced || nd.status.View%s.cfg.N != r {
			continue
		}
		var b spec.Batch
		for _, q := range reqs {
			k := [3]uint64{r, nd.status.View | nd.epoch<<40, q.client<<32 | q.ts}
			if s.live.proposed[k] && !force {
				continue
			}
			s.live.proposed[k] = true
			var req spec.Request
			if spec.Decode(q.raw, &req, spec.MaxBodyBytes(spec.KindRequest)) == nil {
				b.Requests = append(b.Requests, req)
			}
			if uint64(len(b.Requests)) == s.cfg.MaxBatchRequests {
				s.handBatch(nd, b)
				b = spec.Batch{}
			}
		}
		if len(b.Requests) > 0 {
			s.handBatch(nd, b)
		}
	}
}

// handBatch delivers a client batch to a prep.
func (s *sim) handBatch(nd *node, b spec.Batch) {
	s.step++
	s.deliver(nd.id, []delivery{{msg: -1, to: nd.id, kind: spec.KindClientBatch, body: spec.Encode(&b)}})
}

// feedExecs delivers the batches correct execs report missing (NeedBatch) and asks
// every other correct exec for the state a lagging one needs (NeedState), naming a
// state that q execs signed.
func (s *sim) feedExecs() {
	for r := range s.cfg.N {
		nd := s.nodes[r][spec.RoleExec]
		if nd.silenced {
			continue
		}
		for _, d := range nd.status.NeedBatch {
			if bi := s.batches[d]; bi != nil {
				s.step++
				s.deliver(nd.id, []delivery{{msg: -1, to: nd.id, kind: spec.KindBatch, body: bi.raw}})
			}
		}
		if !nd.status.NeedState {
			continue
		}
		d, ok := s.certifiedState(nd.status.Stable)
		if !ok {
			continue
		}
		req := spec.Encode(&spec.StateRequest{Seq: nd.status.Stable, State: d, Replica: r})
		for q := range s.cfg.N {
			if peer := s.nodes[q][spec.RoleExec]; q != r && !peer.silenced {
				s.step++
				s.deliver(peer.id, []delivery{{msg: -1, to: peer.id, kind: spec.KindStateRequest, body: req}})
			}
		}
	}
	s.flush()
}

// fireTimers is the request timers of the fair brokers: confs behind the highest view
// of a correct conf are suspected until they reach it (joining); if all are there
// already, all suspect it, moving to the next view.
func (s *sim) fireTimers() {
	top := uint64(0)
	for r := range s.cfg.N {
		if nd := s.nodes[r][spec.RoleConf]; !nd.silenced {
			top = max(top, nd.status.View)
		}
	}
	behind := false
	for r := range s.cfg.N {
		nd := s.nodes[r][spec.RoleConf]
		for !nd.silenced && nd.status.View < top && s.failure == nil {
			behind = true
			s.suspect(nd)
		}
	}
	if !behind {
		for r := range s.cfg.N {
			if nd := s.nodes[r][spec.RoleConf]; !nd.silenced {
				s.suspect(nd)
			}
		}
	}
	s.logf("  timers fired (top view %d, joining %t)", top, behind)
	s.flush()
}

// suspect delivers suspect{its view} to a conf.
func (s *sim) suspect(nd *node) {
	s.step++
	s.stats.Suspects++
	s.deliver(nd.id, []delivery{{msg: -1, to: nd.id, kind: spec.KindSuspect, body: spec.Encode(&spec.Suspect{View: nd.status.View})}})
}

// statusSummary renders every compartment's status for a liveness failure.
func (s *sim) statusSummary() string {
	var b strings.Builder
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			st := nd.status
			tag := ""
			if nd.silenced {
				tag = " silent"
			}
			fmt.Fprintf(&b, "%s[v%d%s h%d last%d%s%s] ", nd.id, st.View, map[bool]string{true: "", false: "*"}[st.ViewActive], st.Stable, st.Last,
				map[bool]string{true: " needstate", false: ""}[st.NeedState], tag)
		}
	}
	return b.String()
}
