package swarm

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// loneConf runs seed to the end of its liveness phase and then has one correct
// replica's broker suspect its conf's view alone, so that the conf waits in the next
// view by itself. It returns the simulator and that conf's replica.
func loneConf(t *testing.T, seed uint64) (*sim, int) {
	t.Helper()
	s, rep := run(Options{Seed: seed, SkipNVersion: true})
	if rep.Failure != nil {
		t.Fatalf("seed %d: %s", seed, rep.Failure.Error())
	}
	for r := range s.nodes {
		if nd := s.nodes[r][spec.RoleConf]; s.replicaCorrect(r) && nd.status.ViewActive {
			s.suspect(nd)
			s.flush()
			if got := s.inactiveConfs(); len(got) != 1 {
				t.Fatalf("seed %d: inactive confs %v after one lone suspicion, want one", seed, got)
			}
			return s, r
		}
	}
	t.Fatalf("seed %d: no correct replica with an active conf", seed)
	return nil, 0
}

// TestReturnToService: the liveness phase's last part brings a conf left alone in a
// higher view back (the group moves up to it) and counts it; with no steps left to do
// so, the seed fails the liveness oracle naming the conf.
func TestReturnToService(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s, r := loneConf(t, seed)
		before := s.nodes[r][spec.RoleConf].status.View
		s.returnToService()
		if s.failure != nil || len(s.inactiveConfs()) != 0 || s.stats.InactiveConfs != 1 {
			t.Fatalf("seed %d: failure %v, inactive %v, counted %d", seed, s.failure, s.inactiveConfs(), s.stats.InactiveConfs)
		}
		if v := s.nodes[r][spec.RoleConf].status.View; v < before {
			t.Fatalf("seed %d: conf %d went back from view %d to %d", seed, r, before, v)
		}

		s, _ = loneConf(t, seed)
		s.opt.LivenessSteps = 0
		s.returnToService()
		if s.failure == nil || s.failure.Oracle != "liveness" || !strings.Contains(s.failure.Detail, "still inactive") {
			t.Fatalf("seed %d: no liveness failure without steps to return: %v", seed, s.failure)
		}
	}
}
