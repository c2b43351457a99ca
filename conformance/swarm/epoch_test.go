package swarm

import "testing"

// TestSwarmReadmits checks, on seeds whose adversary restarts or rejuvenates
// enclaves, that the epochs of SPEC.md §17 happen in the swarm: every oracle holds,
// an epoch is certified, the fresh enclaves are admitted and configured (none left
// waiting after the liveness phase), and, where a rejuvenated enclave's predecessor
// was still in the epoch before, its retirement is checked.
func TestSwarmReadmits(t *testing.T) {
	for _, tc := range []struct {
		seed        uint64
		wantRetired bool
	}{
		{seed: 4, wantRetired: true},   // a restart and a rejuvenation
		{seed: 19, wantRetired: false}, // a restart (seed 8 has a whole-cluster restart, which ends every admission)
		{seed: 12, wantRetired: true},  // a rejuvenation
	} {
		s, rep := run(Options{Seed: tc.seed, SkipNVersion: true, ScenarioDir: scenarioDir(t)})
		check(t, rep)
		st := rep.Stats
		if st.Restarts+st.Rejuvenations == 0 || st.Epochs == 0 || st.Admitted == 0 || (tc.wantRetired && st.Retired == 0) {
			t.Errorf("seed %d: restarts %d, rejuvenations %d, epochs %d, admitted %d, retired %d: want a re-admission through an epoch change",
				tc.seed, st.Restarts, st.Rejuvenations, st.Epochs, st.Admitted, st.Retired)
		}
		if open := s.openAdmissions(); len(open) > 0 {
			t.Errorf("seed %d: %d restarted enclaves still wait for admission after the liveness phase", tc.seed, len(open))
		}
		if got := uint64(len(s.epochs)) - 1; got != s.cfg.Epoch || got != uint64(st.Epochs+st.Recoveries) {
			t.Errorf("seed %d: chain of %d epochs, latest configuration's epoch %d, %d epoch changes and %d recoveries counted", tc.seed, got, s.cfg.Epoch, st.Epochs, st.Recoveries)
		}
	}
}
