package prepb

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

// newFixtureWith returns a prep-b at replica me configured with the fixture's
// configuration as changed by mut.
func newFixtureWith(t testing.TB, me uint64, seed int64, mut func(*spec.Config)) *fixture {
	t.Helper()
	return &fixture{agreebtest.NewConfiguredWith(t, &testSetup, me, seed, mut)}
}

// acceptEpochChange moves the fixture to NextConfig(start, state) by an accepted
// epoch change (no output) and returns the new configuration, not yet entered.
func (fx *fixture) acceptEpochChange(start uint64, state spec.Digest) spec.Config {
	fx.T.Helper()
	next := fx.NextConfig(start, state)
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindEpochChange, agreebtest.Ptr(fx.EpochChange(&next)))), nil)
	return next
}

// expectStatus checks the Status byte for byte.
func (fx *fixture) expectStatus(want spec.Status) {
	fx.T.Helper()
	if st := fx.Status(); !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) {
		fx.T.Fatalf("seed %d: status %+v, want %+v", fx.Seed, st, want)
	}
}

// TestEpochChangeBackup checks §17.4 step 2 at a backup (replica 1) that had
// prepared seq 1 and stored a VIEW-CHANGE: both are dropped, the status shows view
// 0, h = seqHigh = StartSeq = 3; a proposal signed under the old digest is rejected
// bad-signature; under the new one the window is (3, 3+L], a proposal at 4 gets a
// PREPARE signed under the new digest, and a request signed under the old digest
// inside it is bad-request.
func TestEpochChangeBackup(t *testing.T) {
	fx := newFixture(t, 1, 93)
	fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 1, fx.Batch(1)))))
	fx.MustAccept(agreebtest.Input(spec.KindViewChange, agreebtest.Ptr(fx.ViewChange(2, 0, agreebtest.Genesis()))))
	oldBatch := fx.Batch(2)
	oldProposal := fx.Proposal(0, 4, oldBatch)
	next := fx.acceptEpochChange(3, agreebtest.Digest(0x33))
	fx.expectStatus(spec.Status{Role: spec.RolePrep, Replica: 1, Configured: true, ViewActive: true, Stable: 3, Last: 3})
	if dump := fx.P.DebugState(); strings.Contains(dump, "accepted seq=") || strings.Contains(dump, "view-change from=") {
		t.Fatalf("seed %d: stored messages survived the epoch change:\n%s", fx.Seed, dump)
	}
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, &oldProposal), spec.CodeBadSignature, 0) // P6
	fx.Enter(&next)
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 3, fx.Batch(1)))), spec.CodeStale, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 4+agreebtest.L, fx.Batch(1)))), spec.CodeOutOfWindow, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 4, oldBatch))), spec.CodeBadRequest, 1) // P11 R5
	b := fx.Batch(1)
	outs := fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 4, b))))
	fx.ExpectOutputs(outs, []spec.Output{fx.expectedPrepare(0, 4, spec.BatchDigest(&b))})
}

// TestEpochChangePrimary checks that the primary's next sequence number after an
// epoch change is StartSeq + 1 (§17.4 step 2), that requests signed under the old
// digest are each rejected bad-signature, and that the PRE-PREPARE is signed under
// the new digest.
func TestEpochChangePrimary(t *testing.T) {
	fx := newFixture(t, 0, 94)
	fx.MustAccept(agreebtest.Input(spec.KindClientBatch, agreebtest.Ptr(fx.Batch(1))))
	old := fx.Batch(2)
	next := fx.acceptEpochChange(3, agreebtest.Digest(0x33))
	fx.Enter(&next)
	before := fx.P.DebugState()
	fx.ExpectOutputs(fx.Step(agreebtest.Input(spec.KindClientBatch, &old)), []spec.Output{
		agreebtest.Rejection(0, spec.KindClientBatch, spec.CodeBadSignature, 1),
		agreebtest.Rejection(0, spec.KindClientBatch, spec.CodeBadSignature, 2),
		agreebtest.Rejection(0, spec.KindClientBatch, spec.CodeEmptyBatch, 0),
	})
	if fx.P.DebugState() != before {
		t.Fatalf("seed %d: a rejected client-batch changed the state", fx.Seed)
	}
	b := fx.Batch(2)
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindClientBatch, &b)), []spec.Output{fx.expectedProposal(0, 4, b)})
}

// TestEpochChangeNewViewAgain checks that a prep that built the NEW-VIEW for view 1
// in epoch 0 builds it again in epoch 1, from VIEW-CHANGEs that carry the new
// epoch's genesis certificate (views restart at 0, §17.4 step 2).
func TestEpochChangeNewViewAgain(t *testing.T) {
	fx := newFixture(t, 1, 95)
	fx.enterViewAsPrimary(1)
	next := fx.acceptEpochChange(3, agreebtest.Digest(0x33))
	fx.Enter(&next)
	var vcs []spec.ViewChange
	var outs []spec.Output
	for r := uint64(0); r < 2*agreebtest.F+1; r++ {
		vcs = append(vcs, fx.ViewChange(1, r, next.GenesisCert()))
		outs = fx.MustAccept(agreebtest.Input(spec.KindViewChange, &vcs[r]))
	}
	nv := fx.NewView(1, vcs, nil)
	fx.ExpectOutputs(outs, []spec.Output{agreebtest.Output(spec.KindNewView, spec.ToPrep|spec.ToConf|spec.ToExec, &nv)})
	fx.expectStatus(spec.Status{Role: spec.RolePrep, Replica: 1, Configured: true, View: 1, ViewActive: true, Stable: 3, Last: 3})
}

// TestEpochStartWindow checks configure with StartSeq 5 (§8.1): Last = Stable = 5;
// a backup's window is (5, 5+L]; the primary proposes 6..5+L, then its window is
// full.
func TestEpochStartWindow(t *testing.T) {
	fx := newFixtureWith(t, 1, 96, agreebtest.StartAt5)
	fx.expectStatus(spec.Status{Role: spec.RolePrep, Replica: 1, Configured: true, ViewActive: true, Stable: 5, Last: 5})
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 5, fx.Batch(1)))), spec.CodeStale, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, 6+agreebtest.L, fx.Batch(1)))), spec.CodeOutOfWindow, 0)
	for _, s := range []uint64{5 + agreebtest.L, 6} {
		b := fx.Batch(1)
		fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindProposal, agreebtest.Ptr(fx.Proposal(0, s, b)))),
			[]spec.Output{fx.expectedPrepare(0, s, spec.BatchDigest(&b))})
	}
	pr := newFixtureWith(t, 0, 97, agreebtest.StartAt5)
	for s := uint64(6); s <= 5+agreebtest.L; s++ {
		b := pr.Batch(1)
		pr.ExpectOutputs(pr.MustAccept(agreebtest.Input(spec.KindClientBatch, &b)), []spec.Output{pr.expectedProposal(0, s, b)})
	}
	pr.ExpectReject(agreebtest.Input(spec.KindClientBatch, agreebtest.Ptr(pr.Batch(1))), spec.CodeWindowFull, 0)
}
