package broker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

// TestObservedCheckpointStates: the broker learns a checkpoint's state digest only
// from a validly signed CHECKPOINT, and each (Seq, State) once, however many
// replicas send it.
func TestObservedCheckpointStates(t *testing.T) {
	w := newWorld(t, 1, 8, 92)
	h := harnessIn(w, 0, Options{})
	forged := w.checkpoint(1, 16, spec.Digest{6})
	forged.Sig[0] ^= 1
	h.peer(1, spec.KindCheckpoint, forged)
	h.r.Flush()
	if got := h.r.certStates[16]; len(got) != 0 {
		t.Fatalf("learned %v from a forged CHECKPOINT", got)
	}
	for p := uint64(1); p < 4; p++ {
		h.peer(p, spec.KindCheckpoint, w.checkpoint(p, 16, spec.Digest{5}))
	}
	h.peer(2, spec.KindCheckpoint, forged)
	h.r.Flush()
	if diff := cmp.Diff([]spec.Digest{{5}}, h.r.certStates[16]); diff != "" {
		t.Errorf("state digests learned for 16 (-want +got):\n%s", diff)
	}
}
