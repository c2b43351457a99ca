package agreebtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// RunCheckpointRules covers CP1–CP7 (§8.3), each failing alone at a configured
// compartment of replica 2.
func RunCheckpointRules(t *testing.T, s *Setup) {
	type setup func(fx *World) spec.Checkpoint
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"CP1 unknown sender", func(fx *World) spec.Checkpoint { return fx.Checkpoint(2, Digest(1), N) }, spec.CodeUnknownSender},
		{"CP2 seq 0", func(fx *World) spec.Checkpoint { return fx.Checkpoint(0, Digest(1), 0) }, spec.CodeBadCheckpoint},
		{"CP2 not a multiple of K", func(fx *World) spec.Checkpoint { return fx.Checkpoint(3, Digest(1), 0) }, spec.CodeBadCheckpoint},
		{"CP3 stale", func(fx *World) spec.Checkpoint {
			fx.MakeStable(2)
			return fx.Checkpoint(2, Digest(2), 3)
		}, spec.CodeStale},
		{"CP4 bad signature", func(fx *World) spec.Checkpoint {
			c := fx.Checkpoint(2, Digest(1), 1)
			c.Sig[63] ^= 0x10
			return c
		}, spec.CodeBadSignature},
		{"CP4 signed by another exec", func(fx *World) spec.Checkpoint {
			c := fx.Checkpoint(2, Digest(1), 1)
			c.Body.Replica = 0
			return c
		}, spec.CodeBadSignature},
		{"CP5 duplicate", func(fx *World) spec.Checkpoint {
			c := fx.Checkpoint(2, Digest(1), 1)
			fx.MustAccept(Input(spec.KindCheckpoint, &c))
			return c
		}, spec.CodeDuplicate},
		{"CP6 conflict", func(fx *World) spec.Checkpoint {
			fx.MustAccept(Input(spec.KindCheckpoint, Ptr(fx.Checkpoint(2, Digest(1), 1))))
			return fx.Checkpoint(2, Digest(2), 1)
		}, spec.CodeConflict},
		{"CP7 far below the sender's far checkpoint", func(fx *World) spec.Checkpoint {
			fx.MustAccept(Input(spec.KindCheckpoint, Ptr(fx.Checkpoint(L+4, Digest(1), 1))))
			return fx.Checkpoint(L+2, Digest(1), 1)
		}, spec.CodeStale},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := NewConfigured(t, s, 2, int64(500+i))
			m := c.setup(fx)
			fx.ExpectReject(Input(spec.KindCheckpoint, &m), c.code, 0)
		})
	}
}

// RunCheckpointFar checks that a new far checkpoint replaces the sender's previous
// far one, that checkpoints inside the window are kept alongside, and that a far
// checkpoint can still become stable. It returns the world, stable at L+4, for the
// caller's role-specific checks.
func RunCheckpointFar(t *testing.T, s *Setup) *World {
	fx := NewConfigured(t, s, 2, 51)
	near := fx.Checkpoint(L, Digest(1), 1)
	far1 := fx.Checkpoint(L+2, Digest(1), 1)
	far2 := fx.Checkpoint(L+4, Digest(1), 1)
	for _, c := range []spec.Checkpoint{near, far1, far2} {
		fx.MustAccept(Input(spec.KindCheckpoint, &c))
	}
	dump := fx.P.DebugState()
	for _, want := range []string{fmt.Sprintf("seq=%d ", L), fmt.Sprintf("seq=%d ", L+4)} {
		if !strings.Contains(dump, "checkpoint from=1 "+want) {
			t.Fatalf("seed %d: store lacks %q:\n%s", fx.Seed, want, dump)
		}
	}
	if strings.Contains(dump, fmt.Sprintf("checkpoint from=1 seq=%d ", L+2)) {
		t.Fatalf("seed %d: replaced far checkpoint still stored:\n%s", fx.Seed, dump)
	}
	for _, r := range []uint64{0, 3} {
		fx.MustAccept(Input(spec.KindCheckpoint, Ptr(fx.Checkpoint(L+4, Digest(1), r))))
	}
	if st := fx.Status(); st.Stable != L+4 {
		t.Fatalf("seed %d: status %+v after far stable checkpoint", fx.Seed, st)
	}
	return fx
}

// StabilizeCheckpoint covers §8.3 stability on a configured w with h = 0: after a
// CHECKPOINT of another state from exec 2, one for seq 4 from exec 2, and matching
// ones for seq 2 from execs 3 and 1, nothing is stable; the one from exec 0 makes
// seq 2 stable with the proof of the lowest ids 0, 1, 3 in order, and the store
// keeps only checkpoints above h. It returns the state dump for the caller's checks
// of its role-specific effect.
func (w *World) StabilizeCheckpoint() string {
	w.T.Helper()
	other := w.Checkpoint(2, Digest(9), 2) // another state from exec 2
	w.MustAccept(Input(spec.KindCheckpoint, &other))
	later := w.Checkpoint(4, Digest(4), 2)
	w.MustAccept(Input(spec.KindCheckpoint, &later))
	for _, r := range []uint64{3, 1} {
		w.MustAccept(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(2, Digest(2), r))))
	}
	if st := w.Status(); st.Stable != 0 {
		w.T.Fatalf("seed %d: stable before q matching checkpoints", w.Seed)
	}
	w.MustAccept(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(2, Digest(2), 0))))
	if st := w.Status(); st.Stable != 2 {
		w.T.Fatalf("seed %d: status %+v, want stable 2", w.Seed, st)
	}
	cert := w.CheckpointCert(2, Digest(2), 0, 1, 3)
	dump := w.P.DebugState()
	if !strings.Contains(dump, fmt.Sprintf("proof=%x\n", spec.Encode(&cert))) {
		w.T.Fatalf("seed %d: stable certificate is not the sorted proof of 0,1,3:\n%s", w.Seed, dump)
	}
	if strings.Contains(dump, "checkpoint from=2 seq=2 ") || !strings.Contains(dump, "checkpoint from=2 seq=4 ") {
		w.T.Fatalf("seed %d: store not pruned to seq > h:\n%s", w.Seed, dump)
	}
	return dump
}
