package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
)

// TestCheckpointRules covers CP1–CP7 (§8.3), each failing alone.
func TestCheckpointRules(t *testing.T) { agreebtest.RunCheckpointRules(t, &testSetup) }

// TestCheckpointFar checks that a new far checkpoint replaces the sender's previous
// far one, and that checkpoints inside the window are kept alongside.
func TestCheckpointFar(t *testing.T) { agreebtest.RunCheckpointFar(t, &testSetup) }

// TestCheckpointStable checks §8.3 stability: q matching checkpoints make the
// certificate of the lowest ids, sorted; stored checkpoints at or below h go; and
// conf's effect (§10.5) drops slots and prepared certificates at or below h.
func TestCheckpointStable(t *testing.T) {
	fx := newFixture(t, 2, 52)
	for s := uint64(1); s <= 3; s++ {
		fx.prepareSlot(0, s, agreebtest.Digest(byte(s)), 1, 3)
	}
	dump := fx.StabilizeCheckpoint()
	if st := fx.Status(); st.Last != 3 {
		t.Fatalf("seed %d: status %+v, want last 3", fx.Seed, st)
	}
	for _, gone := range []string{"slot seq=1 ", "slot seq=2 ", "pset seq=1 ", "pset seq=2 ", "checkpoint from=2 seq=2 "} {
		if strings.Contains(dump, gone) {
			t.Fatalf("seed %d: %q kept at or below h:\n%s", fx.Seed, gone, dump)
		}
	}
	for _, kept := range []string{"slot seq=3 ", "pset seq=3 ", "checkpoint from=2 seq=4 "} {
		if !strings.Contains(dump, kept) {
			t.Fatalf("seed %d: %q dropped:\n%s", fx.Seed, kept, dump)
		}
	}
}
