package prepb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestCheckpointRules covers CP1–CP7 (§8.3), each failing alone.
func TestCheckpointRules(t *testing.T) { agreebtest.RunCheckpointRules(t, &testSetup) }

// TestCheckpointFar checks that a new far checkpoint replaces the sender's previous
// far one, and that checkpoints inside the window are kept alongside; once the far
// checkpoint is stable, prep's seqHigh is raised to it (§9.5).
func TestCheckpointFar(t *testing.T) {
	fx := agreebtest.RunCheckpointFar(t, &testSetup)
	if st := fx.Status(); st.Last != agreebtest.L+4 {
		t.Fatalf("seed %d: status %+v after far stable checkpoint", fx.Seed, st)
	}
}

// TestCheckpointStable checks §8.3 stability: q matching checkpoints make the
// certificate of the lowest ids, sorted; stored checkpoints at or below h go; and
// prep's effect (§9.5) drops accepted entries and raises seqHigh.
func TestCheckpointStable(t *testing.T) {
	fx := newFixture(t, 0, 52)
	b := fx.Batch(1)
	fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b)) // accepted[1]
	dump := fx.StabilizeCheckpoint()
	if st := fx.Status(); st.Last != 2 {
		t.Fatalf("seed %d: status %+v, want last 2", fx.Seed, st)
	}
	if strings.Contains(dump, "accepted seq=1") {
		t.Fatalf("seed %d: accepted not pruned to seq > h:\n%s", fx.Seed, dump)
	}
	// The primary's next proposal takes seq h+1 = 3.
	b2 := fx.Batch(2)
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b2)), []spec.Output{fx.expectedProposal(0, 3, b2)})
}
