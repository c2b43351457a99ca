package swarm

import "testing"

// TestWholeClusterRestart replays seeds whose adversary stops every enclave of every
// replica (SPEC.md §17.8) and checks that each restart recovered: every oracle held
// across it (agreement, integrity, durability, linearizability, liveness in C'), the
// chain grew by one recovery per restart, each step following the one before, and the
// cluster executed past the last recovery's head.
func TestWholeClusterRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  uint64
		force bool // Options.WholeRestart: the seed's parameters place none
		want  int
	}{
		{"a faulty disk loses log and snapshot, N-version replay", 5, false, 1},
		{"base 6 by state chunks, head 10, a forged batch below the base", 27, false, 1},
		{"two restarts, the second from a recovery epoch's start snapshot", 83, false, 2},
		{"a late exec adopts C' from the recovery input, one disk's log cut", 22, true, 1},
		{"an epoch change follows the recovery", 66, false, 1},
		{"a late exec drops its partial replay and takes C' by transfer (once a panic)", 1009, true, 2},
		{"a forged batch on one disk: its exec fetches the certified one", 39, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rep := run(Options{Seed: tc.seed, WholeRestart: tc.force, SkipNVersion: tc.seed != 5, ScenarioDir: scenarioDir(t)})
			check(t, rep)
			st := rep.Stats
			if st.WholeRestarts != tc.want || st.Recoveries != tc.want || st.Actions[actWholeRestart] != tc.want {
				t.Fatalf("seed %d: %d whole-cluster restarts (%d actions), %d recovered; want %d", tc.seed, st.WholeRestarts, st.Actions[actWholeRestart], st.Recoveries, tc.want)
			}
			if got := len(s.epochs) - 1; got != st.Epochs+st.Recoveries || uint64(got) != s.cfg.Epoch {
				t.Fatalf("seed %d: chain of %d steps, %d epoch changes and %d recoveries, latest epoch %d", tc.seed, got, st.Epochs, st.Recoveries, s.cfg.Epoch)
			}
			lastHead := uint64(0)
			for e := 1; e < len(s.epochs); e++ {
				c := s.epochs[e].cfg
				if c.Epoch != uint64(e) || c.Prev != s.epochs[e-1].cd || c.StartSeq < s.epochs[e-1].cfg.StartSeq {
					t.Fatalf("seed %d: epoch %d does not follow epoch %d", tc.seed, e, e-1)
				}
				if s.epochs[e].recovery {
					lastHead = max(lastHead, c.StartSeq)
				}
			}
			if st.MaxExecuted <= lastHead {
				t.Fatalf("seed %d: nothing executed after the recovery's head %d (max %d)", tc.seed, lastHead, st.MaxExecuted)
			}
		})
	}
}

// TestWholeRestartMutantCaught: a members' tool that recovers to a lower head than
// the disks prove (MutantToolLowHead) loses acknowledged writes, and the durability
// oracle says so on seeds where the lowered head drops one.
func TestWholeRestartMutantCaught(t *testing.T) {
	for _, seed := range []uint64{5, 27} {
		rep := Run(Options{Seed: seed, Mutant: MutantToolLowHead, SkipNVersion: true})
		if rep.Failure == nil || rep.Failure.Oracle != "durability" {
			t.Errorf("seed %d: mutant %s: want a durability failure, got %v", seed, MutantToolLowHead, rep.Failure)
		} else {
			t.Logf("seed %d: %s", seed, rep.Failure.Error())
		}
	}
	// Seed 1112 (forced restart): the head the mutant drops holds only the admin
	// client's unacknowledged admission, which executes again in C' with another
	// result. Nothing acknowledged is lost, so no oracle may fail (before the oracles
	// forgot that result, agreement failed here).
	if rep := Run(Options{Seed: 1112, WholeRestart: true, Mutant: MutantToolLowHead, SkipNVersion: true}); rep.Failure != nil || rep.Stats.MutantActs == 0 {
		t.Errorf("seed 1112: mutant %s acted %d times; want one act and no failure, got %v", MutantToolLowHead, rep.Stats.MutantActs, rep.Failure)
	}
}
