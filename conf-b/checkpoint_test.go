package confb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestCheckpointRules covers CP1–CP7 (§8.3), each failing alone.
func TestCheckpointRules(t *testing.T) {
	type setup func(fx *fixture) spec.Checkpoint
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"CP1 unknown sender", func(fx *fixture) spec.Checkpoint { return fx.checkpoint(2, digest(1), testN) }, spec.CodeUnknownSender},
		{"CP2 seq 0", func(fx *fixture) spec.Checkpoint { return fx.checkpoint(0, digest(1), 0) }, spec.CodeBadCheckpoint},
		{"CP2 not a multiple of K", func(fx *fixture) spec.Checkpoint { return fx.checkpoint(3, digest(1), 0) }, spec.CodeBadCheckpoint},
		{"CP3 stale", func(fx *fixture) spec.Checkpoint {
			fx.makeStable(2)
			return fx.checkpoint(2, digest(2), 3)
		}, spec.CodeStale},
		{"CP4 bad signature", func(fx *fixture) spec.Checkpoint {
			c := fx.checkpoint(2, digest(1), 1)
			c.Sig[63] ^= 0x10
			return c
		}, spec.CodeBadSignature},
		{"CP4 signed by another exec", func(fx *fixture) spec.Checkpoint {
			c := fx.checkpoint(2, digest(1), 1)
			c.Body.Replica = 0
			return c
		}, spec.CodeBadSignature},
		{"CP5 duplicate", func(fx *fixture) spec.Checkpoint {
			c := fx.checkpoint(2, digest(1), 1)
			fx.mustAccept(input(spec.KindCheckpoint, &c))
			return c
		}, spec.CodeDuplicate},
		{"CP6 conflict", func(fx *fixture) spec.Checkpoint {
			fx.mustAccept(input(spec.KindCheckpoint, ptr(fx.checkpoint(2, digest(1), 1))))
			return fx.checkpoint(2, digest(2), 1)
		}, spec.CodeConflict},
		{"CP7 far below the sender's far checkpoint", func(fx *fixture) spec.Checkpoint {
			fx.mustAccept(input(spec.KindCheckpoint, ptr(fx.checkpoint(testL+4, digest(1), 1))))
			return fx.checkpoint(testL+2, digest(1), 1)
		}, spec.CodeStale},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(500+i))
			m := c.setup(fx)
			fx.expectReject(input(spec.KindCheckpoint, &m), c.code, 0)
		})
	}
}

// TestCheckpointFar checks that a new far checkpoint replaces the sender's previous
// far one, and that checkpoints inside the window are kept alongside.
func TestCheckpointFar(t *testing.T) {
	fx := newFixture(t, 2, 51)
	near := fx.checkpoint(testL, digest(1), 1)
	far1 := fx.checkpoint(testL+2, digest(1), 1)
	far2 := fx.checkpoint(testL+4, digest(1), 1)
	for _, c := range []spec.Checkpoint{near, far1, far2} {
		fx.mustAccept(input(spec.KindCheckpoint, &c))
	}
	dump := fx.p.DebugState()
	for _, want := range []string{fmt.Sprintf("seq=%d ", testL), fmt.Sprintf("seq=%d ", testL+4)} {
		if !strings.Contains(dump, "checkpoint from=1 "+want) {
			t.Fatalf("seed %d: store lacks %q:\n%s", fx.seed, want, dump)
		}
	}
	if strings.Contains(dump, fmt.Sprintf("checkpoint from=1 seq=%d ", testL+2)) {
		t.Fatalf("seed %d: replaced far checkpoint still stored:\n%s", fx.seed, dump)
	}
	// Far checkpoints can still become stable.
	for _, r := range []uint64{0, 3} {
		fx.mustAccept(input(spec.KindCheckpoint, ptr(fx.checkpoint(testL+4, digest(1), r))))
	}
	if st := fx.status(); st.Stable != testL+4 {
		t.Fatalf("seed %d: status %+v after far stable checkpoint", fx.seed, st)
	}
}

// TestCheckpointStable checks §8.3 stability: q matching checkpoints make the
// certificate of the lowest ids, sorted; stored checkpoints at or below h go; and
// conf's effect (§10.5) drops slots and prepared certificates at or below h.
func TestCheckpointStable(t *testing.T) {
	fx := newFixture(t, 2, 52)
	for s := uint64(1); s <= 3; s++ {
		fx.prepareSlot(0, s, digest(byte(s)), 1, 3)
	}
	other := fx.checkpoint(2, digest(9), 2) // another state from exec 2
	fx.mustAccept(input(spec.KindCheckpoint, &other))
	later := fx.checkpoint(4, digest(4), 2)
	fx.mustAccept(input(spec.KindCheckpoint, &later))
	for _, r := range []uint64{3, 1} {
		fx.mustAccept(input(spec.KindCheckpoint, ptr(fx.checkpoint(2, digest(2), r))))
	}
	if st := fx.status(); st.Stable != 0 {
		t.Fatalf("stable before q matching checkpoints")
	}
	fx.mustAccept(input(spec.KindCheckpoint, ptr(fx.checkpoint(2, digest(2), 0))))
	if st := fx.status(); st.Stable != 2 || st.Last != 3 {
		t.Fatalf("seed %d: status %+v, want stable 2 last 3", fx.seed, st)
	}
	cert := fx.checkpointCert(2, digest(2), 0, 1, 3)
	dump := fx.p.DebugState()
	if !strings.Contains(dump, fmt.Sprintf("proof=%x\n", spec.Encode(&cert))) {
		t.Fatalf("seed %d: stable certificate is not the sorted proof of 0,1,3:\n%s", fx.seed, dump)
	}
	for _, gone := range []string{"slot seq=1 ", "slot seq=2 ", "pset seq=1 ", "pset seq=2 ", "checkpoint from=2 seq=2 "} {
		if strings.Contains(dump, gone) {
			t.Fatalf("seed %d: %q kept at or below h:\n%s", fx.seed, gone, dump)
		}
	}
	for _, kept := range []string{"slot seq=3 ", "pset seq=3 ", "checkpoint from=2 seq=4 "} {
		if !strings.Contains(dump, kept) {
			t.Fatalf("seed %d: %q dropped:\n%s", fx.seed, kept, dump)
		}
	}
}
