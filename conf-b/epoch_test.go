package confb

import (
	"bytes"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestEpochChangeRules covers EC1–EC4 (SPEC §17.1) at an epoch-change input
// (§17.4), each failing alone with its code and no state change.
func TestEpochChangeRules(t *testing.T) { agreebtest.RunEpochChangeRules(t, &testSetup) }

// TestEpochChangeSwitch covers §17.4 step 2 as far as checkpoints and keys go.
func TestEpochChangeSwitch(t *testing.T) { agreebtest.RunEpochChangeSwitch(t, &testSetup) }

// TestEpochRetire covers §17.4 step 1 and the retired rule of §8.1.
func TestEpochRetire(t *testing.T) { agreebtest.RunEpochRetire(t, &testSetup) }

// TestEpochRetireAsF3 covers §17.4 step 1's comparison "as in F3" (not the build).
func TestEpochRetireAsF3(t *testing.T) { agreebtest.RunEpochRetireAsF3(t, &testSetup) }

// TestEpochStart covers configure with StartSeq > 0 (§8.1) and K1/K2 (§5.1).
func TestEpochStart(t *testing.T) { agreebtest.RunEpochStart(t, &testSetup) }

// expectStatus checks the Status byte for byte.
func (fx *fixture) expectStatus(want spec.Status) {
	fx.T.Helper()
	if st := fx.Status(); !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		fx.T.Fatalf("seed %d: status %+v, want %+v", fx.Seed, st, want)
	}
}

// TestEpochChangeConf checks §17.4 step 2 at a conf (replica 2) that committed seq
// 1, stored a PRE-PREPARE for 2 and was changing to view 1: after the epoch change
// (StartSeq 3) it is in view 0 and active with h = 3 and Last = StartSeq = 3 (SPEC
// §10.2), slots and prepared certificates dropped; a PRE-PREPARE signed under the
// old digest is rejected bad-signature; under the new one the window is (3, 3+L],
// seq 4 commits with a COMMIT signed under the new digest, and a suspicion sends a
// VIEW-CHANGE carrying the new epoch's genesis certificate and only the new
// certificate.
func TestEpochChangeConf(t *testing.T) {
	fx := newFixture(t, 2, 93)
	fx.prepareSlot(0, 1, agreebtest.Digest(1), 1, 3)
	fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 2, agreebtest.Digest(2), 0))))
	old := fx.PrePrepare(0, 4, agreebtest.Digest(4), 0)
	fx.suspect(0)
	next := fx.NextConfig(3, agreebtest.Digest(0x33))
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindEpochChange, agreebtest.Ptr(fx.EpochChange(&next)))), nil)
	fx.expectStatus(spec.Status{Role: spec.RoleConf, Replica: 2, Configured: true, ViewActive: true, Stable: 3, Last: 3})
	if dump := fx.P.DebugState(); strings.Contains(dump, "slot seq=") || strings.Contains(dump, "pset seq=") {
		t.Fatalf("seed %d: stored messages survived the epoch change:\n%s", fx.Seed, dump)
	}
	fx.ExpectReject(agreebtest.Input(spec.KindPrePrepare, &old), spec.CodeBadSignature, 0) // Q6
	fx.Enter(&next)
	fx.ExpectReject(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 3, agreebtest.Digest(3), 0))), spec.CodeStale, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 4+agreebtest.L, agreebtest.Digest(3), 1))), spec.CodeOutOfWindow, 0)
	d := agreebtest.Digest(4)
	fx.ExpectOutputs(fx.prepareSlot(0, 4, d, 1, 3), []spec.Output{fx.expectedCommit(0, 4, d)})
	fx.ExpectOutputs(fx.suspect(0), []spec.Output{fx.expectedViewChange(1, next.GenesisCert(), fx.certOf(0, 4, d))})
	fx.expectStatus(spec.Status{Role: spec.RoleConf, Replica: 2, Configured: true, View: 1, Stable: 3, Last: 4})
}

// TestEpochStartWindow checks configure with StartSeq 5 (§8.1) at a conf: Last =
// Stable = 5 (SPEC §10.2); the window is (5, 5+L], and a suspicion sends the
// epoch's genesis certificate.
func TestEpochStartWindow(t *testing.T) {
	fx := &fixture{agreebtest.NewConfiguredWith(t, &testSetup, 2, 96, agreebtest.StartAt5)}
	fx.expectStatus(spec.Status{Role: spec.RoleConf, Replica: 2, Configured: true, ViewActive: true, Stable: 5, Last: 5})
	fx.ExpectReject(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 5, agreebtest.Digest(5), 0))), spec.CodeStale, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 6+agreebtest.L, agreebtest.Digest(5), 0))), spec.CodeOutOfWindow, 0)
	for _, s := range []uint64{6, 5 + agreebtest.L} {
		d := agreebtest.Digest(byte(s))
		fx.ExpectOutputs(fx.prepareSlot(0, s, d, 1, 3), []spec.Output{fx.expectedCommit(0, s, d)})
	}
	outs := fx.suspect(0)
	fx.ExpectOutputs(outs, []spec.Output{fx.expectedViewChange(1, fx.Cfg.GenesisCert(),
		fx.certOf(0, 6, agreebtest.Digest(6)), fx.certOf(0, 5+agreebtest.L, agreebtest.Digest(5+agreebtest.L)))})
}

// TestEpochChangeLast checks SPEC §10.2 and §17.4 step 2: at an accepted epoch
// change conf's last becomes StartSeq, whatever this conf committed in the old
// epoch (below, at or above StartSeq); a retiring conf's status stays what it was
// (§17.4 step 1).
func TestEpochChangeLast(t *testing.T) {
	cases := []struct {
		name      string
		committed []uint64 // seqs committed in epoch 0, in view 0
		start     uint64   // StartSeq of epoch 1
		retire    bool     // this conf's slot gets a new key in epoch 1
		want      uint64   // Last after the epoch change
	}{
		{"nothing committed", nil, 2, false, 2},
		{"committed below StartSeq", []uint64{1}, 3, false, 3},
		{"committed at StartSeq", []uint64{1, 2}, 2, false, 2},
		{"committed above StartSeq", []uint64{1, 4}, 2, false, 2},
		{"StartSeq 1 (the least, EC3) after commits", []uint64{3}, 1, false, 1},
		{"retired keeps its last", []uint64{1, 4}, 2, true, 4},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, 200+int64(i))
			for _, s := range c.committed {
				d := agreebtest.Digest(byte(s))
				fx.ExpectOutputs(fx.prepareSlot(0, s, d, 1, 3), []spec.Output{fx.expectedCommit(0, s, d)})
			}
			want := fx.Status()
			next := fx.NextConfig(c.start, agreebtest.Digest(0x40+byte(c.start)))
			if c.retire {
				fx.Replace(&next, spec.RoleConf, 2)
			} else {
				want.Stable = c.start
			}
			want.Last = c.want
			fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindEpochChange, agreebtest.Ptr(fx.EpochChange(&next)))), nil)
			fx.expectStatus(want)
		})
	}
}
