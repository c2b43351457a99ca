package prepb

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestInit covers §7.1 I1–I3, the enrollment shape and §3.5 (exactly 32 bytes read).
func TestInit(t *testing.T) { agreebtest.RunInit(t, &testSetup, ErrBadInit) }

// TestInitShortRandomness checks that a failing randomness source fails Init
// without initialising.
func TestInitShortRandomness(t *testing.T) { agreebtest.RunInitShortRandomness(t, &testSetup) }

// TestStatusUnconfigured checks the Status before configure (§9.8).
func TestStatusUnconfigured(t *testing.T) {
	fx := newUnconfigured(t, 2, 11)
	st := fx.Status()
	want := spec.Status{Role: spec.RolePrep, Replica: 2, ViewActive: true}
	if !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		t.Fatalf("status %+v, want %+v", st, want)
	}
}
