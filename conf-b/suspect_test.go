package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// expectedViewChange builds the VIEW-CHANGE output of the conf under test.
func (fx *fixture) expectedViewChange(w uint64, stable spec.CheckpointCert, prepared ...spec.PreparedCert) spec.Output {
	body := spec.ViewChangeBody{View: w, Replica: fx.Me, Stable: stable, Prepared: prepared}
	return agreebtest.Output(spec.KindViewChange, spec.ToPrep, &spec.ViewChange{Body: body, Sig: fx.Sign(fx.Confs[fx.Me], spec.DomainViewChange, &body)})
}

// certOf is the prepared certificate prepareSlot(v, s, d, 1, 3) forms.
func (fx *fixture) certOf(v, s uint64, d spec.Digest) spec.PreparedCert {
	return spec.PreparedCert{Header: fx.PrePrepare(v, s, d, v%agreebtest.N), Prepares: []spec.Prepare{fx.Prepare(v, s, d, 1), fx.Prepare(v, s, d, 3)}}
}

// TestSuspect checks §10.4: the VIEW-CHANGE carries the stable certificate and the
// prepared certificates above h in increasing order; slots are dropped; a second
// suspicion during the change moves on to the next view with the same content.
func TestSuspect(t *testing.T) {
	fx := newFixture(t, 2, 41)
	for s := uint64(1); s <= 3; s++ {
		fx.prepareSlot(0, s, agreebtest.Digest(byte(s)), 1, 3)
	}
	fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 4, agreebtest.Digest(4), 0)))) // not prepared
	fx.MakeStable(2)
	stable := fx.CheckpointCert(2, agreebtest.Digest(2), 0, 1, 2)
	fx.ExpectOutputs(fx.suspect(0), []spec.Output{fx.expectedViewChange(1, stable, fx.certOf(0, 3, agreebtest.Digest(3)))})
	if st := fx.Status(); st.View != 1 || st.ViewActive || st.Last != 3 || st.Stable != 2 {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
	if strings.Contains(fx.P.DebugState(), "slot seq=") {
		t.Fatalf("seed %d: slots kept after suspect:\n%s", fx.Seed, fx.P.DebugState())
	}
	fx.ExpectOutputs(fx.suspect(1), []spec.Output{fx.expectedViewChange(2, stable, fx.certOf(0, 3, agreebtest.Digest(3)))})
	if st := fx.Status(); st.View != 2 || st.ViewActive {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
}

// TestSuspectRules covers S1 in both directions.
func TestSuspectRules(t *testing.T) {
	fx := newFixture(t, 2, 42)
	fx.ExpectReject(agreebtest.Input(spec.KindSuspect, &spec.Suspect{View: 1}), spec.CodeWrongView, 0)
	fx.suspect(0)
	fx.ExpectReject(agreebtest.Input(spec.KindSuspect, &spec.Suspect{View: 0}), spec.CodeStale, 0)
	fx.ExpectReject(agreebtest.Input(spec.KindSuspect, &spec.Suspect{View: 2}), spec.CodeWrongView, 0)
}
