package swarm

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// returnToService is the end of the liveness phase and its oracle (SPEC.md §10.4,
// §13.3 obligation 5, return to service): once every outstanding request completed,
// the confs of correct replicas left inactive (alone in a higher view, or in a view
// change that never finished) are counted, and the fair brokers keep going — flush,
// feed the execs, retransmit, and every third quiet round fire the timers, which
// move every conf below the highest view up to it (the group joins the lone conf,
// never the other way round) or, when all are there, on to the next view. Every
// correct replica's conf must be active within LivenessSteps further steps, or the
// seed fails.
func (s *sim) returnToService() {
	left := s.inactiveConfs()
	s.stats.InactiveConfs += len(left)
	if len(left) == 0 {
		return
	}
	s.logf("  return to service: inactive confs %v", left)
	start, idle := s.step, 0
	for s.failure == nil && len(s.inactiveConfs()) > 0 {
		if s.step-start >= s.opt.LivenessSteps {
			s.fail("liveness", "confs of correct replicas %v still inactive %d steps after the last request completed (inactive then: %v); %s",
				s.inactiveConfs(), s.step-start, left, s.statusSummary())
			return
		}
		mark := s.progressMark()
		s.flush()
		if s.progressMark() != mark {
			idle = 0
			continue
		}
		idle++
		s.feedExecs()
		s.retransmit()
		if idle%3 == 0 {
			s.fireTimers()
		}
	}
}

// inactiveConfs names the confs of correct replicas (all three enclaves correct) that
// are not active in their view.
func (s *sim) inactiveConfs() []string {
	var out []string
	for r := range s.nodes {
		nd := s.nodes[r][spec.RoleConf]
		if s.replicaCorrect(r) && !nd.status.ViewActive {
			out = append(out, fmt.Sprintf("conf%d(v%d)", r, nd.status.View))
		}
	}
	return out
}

// replicaCorrect reports whether every enclave of replica r is correct (neither
// Byzantine nor restarted) and not silenced.
func (s *sim) replicaCorrect(r int) bool {
	for _, nd := range s.nodes[r] {
		if !nd.correct() || nd.silenced {
			return false
		}
	}
	return true
}
