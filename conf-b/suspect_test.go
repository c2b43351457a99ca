package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// expectedViewChange builds the VIEW-CHANGE output of the conf under test.
func (fx *fixture) expectedViewChange(w uint64, stable spec.CheckpointCert, prepared ...spec.PreparedCert) spec.Output {
	body := spec.ViewChangeBody{View: w, Replica: fx.me, Stable: stable, Prepared: prepared}
	return output(spec.KindViewChange, spec.ToPrep, &spec.ViewChange{Body: body, Sig: fx.sign(fx.confs[fx.me], spec.DomainViewChange, &body)})
}

// certOf is the prepared certificate prepareSlot(v, s, d, 1, 3) forms.
func (fx *fixture) certOf(v, s uint64, d spec.Digest) spec.PreparedCert {
	return spec.PreparedCert{Header: fx.prePrepare(v, s, d, v%testN), Prepares: []spec.Prepare{fx.prepare(v, s, d, 1), fx.prepare(v, s, d, 3)}}
}

// TestSuspect checks §10.4: the VIEW-CHANGE carries the stable certificate and the
// prepared certificates above h in increasing order; slots are dropped; a second
// suspicion during the change moves on to the next view with the same content.
func TestSuspect(t *testing.T) {
	fx := newFixture(t, 2, 41)
	for s := uint64(1); s <= 3; s++ {
		fx.prepareSlot(0, s, digest(byte(s)), 1, 3)
	}
	fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(0, 4, digest(4), 0)))) // not prepared
	fx.makeStable(2)
	stable := fx.checkpointCert(2, digest(2), 0, 1, 2)
	fx.expectOutputs(fx.suspect(0), []spec.Output{fx.expectedViewChange(1, stable, fx.certOf(0, 3, digest(3)))})
	if st := fx.status(); st.View != 1 || st.ViewActive || st.Last != 3 || st.Stable != 2 {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
	if strings.Contains(fx.p.DebugState(), "slot seq=") {
		t.Fatalf("seed %d: slots kept after suspect:\n%s", fx.seed, fx.p.DebugState())
	}
	fx.expectOutputs(fx.suspect(1), []spec.Output{fx.expectedViewChange(2, stable, fx.certOf(0, 3, digest(3)))})
	if st := fx.status(); st.View != 2 || st.ViewActive {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
}

// TestSuspectRules covers S1 in both directions.
func TestSuspectRules(t *testing.T) {
	fx := newFixture(t, 2, 42)
	fx.expectReject(input(spec.KindSuspect, &spec.Suspect{View: 1}), spec.CodeWrongView, 0)
	fx.suspect(0)
	fx.expectReject(input(spec.KindSuspect, &spec.Suspect{View: 0}), spec.CodeStale, 0)
	fx.expectReject(input(spec.KindSuspect, &spec.Suspect{View: 2}), spec.CodeWrongView, 0)
}
