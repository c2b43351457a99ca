package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// TestNewViewAccepted checks §10.6: enter view w and activate it, drop the slots,
// adopt best's checkpoint (dropping prepared certificates at or below it), install
// the O entries above h as PRE-PREPAREs without output, and commit once their
// PREPAREs arrive, with the NEW-VIEW's PRE-PREPARE as the certificate's header.
func TestNewViewAccepted(t *testing.T) {
	fx := newFixture(t, 2, 71)
	fx.prepareSlot(0, 1, agreebtest.Digest(1), 1, 3)
	fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 4, agreebtest.Digest(4), 0))))
	vcs, o := fx.NewViewScenario()
	nv := fx.NewView(5, vcs, o)
	if outs := fx.MustAccept(agreebtest.Input(spec.KindNewView, &nv)); len(outs) != 0 {
		t.Fatalf("seed %d: NEW-VIEW produced %s", fx.Seed, agreebtest.Describe(outs))
	}
	if st := fx.Status(); st.View != 5 || !st.ViewActive || st.Stable != 2 || st.Last != 1 {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
	dump := fx.P.DebugState()
	if strings.Contains(dump, "pset seq=1 ") || strings.Count(dump, "slot seq=") != len(o) {
		t.Fatalf("seed %d: state after NEW-VIEW:\n%s", fx.Seed, dump)
	}
	for _, e := range o {
		if !strings.Contains(dump, "pre-prepare "+hexOf(spec.Encode(&nv.Body.PrePrepares[e.Seq-3]))) {
			t.Fatalf("seed %d: O entry %d not installed:\n%s", fx.Seed, e.Seq, dump)
		}
	}
	fx.ExpectReject(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(5, 3, o[0].Digest, 1))), spec.CodeDuplicate, 0)
	fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(5, 3, o[0].Digest, 0))))
	outs := fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(5, 3, o[0].Digest, 3))))
	fx.ExpectOutputs(outs, []spec.Output{fx.expectedCommit(5, 3, o[0].Digest)})
	want := spec.PreparedCert{Header: nv.Body.PrePrepares[0], Prepares: []spec.Prepare{fx.Prepare(5, 3, o[0].Digest, 0), fx.Prepare(5, 3, o[0].Digest, 3)}}
	if !strings.Contains(fx.P.DebugState(), "pset seq=3 cert="+hexOf(spec.Encode(&want))) {
		t.Fatalf("seed %d: certificate does not use the NEW-VIEW's PRE-PREPARE", fx.Seed)
	}
	fx.ExpectReject(agreebtest.Input(spec.KindNewView, &nv), spec.CodeStale, 0) // N3: w == v and active
}

// TestNewViewSameViewAfterSuspect checks N3's second alternative: a NEW-VIEW for
// the view this conf moved to by suspicion is accepted; then it is stale; an older
// one is stale too.
func TestNewViewSameViewAfterSuspect(t *testing.T) {
	fx := newFixture(t, 2, 72)
	fx.suspect(0)
	vcs := []spec.ViewChange{fx.ViewChange(1, 0, agreebtest.Genesis()), fx.ViewChange(1, 2, agreebtest.Genesis()), fx.ViewChange(1, 3, agreebtest.Genesis())}
	nv := fx.NewView(1, vcs, nil)
	fx.MustAccept(agreebtest.Input(spec.KindNewView, &nv))
	if st := fx.Status(); st.View != 1 || !st.ViewActive {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
	fx.ExpectReject(agreebtest.Input(spec.KindNewView, &nv), spec.CodeStale, 0)
	fx.suspect(1)
	fx.suspect(2)
	fx.ExpectReject(agreebtest.Input(spec.KindNewView, &nv), spec.CodeStale, 0) // w < v
}

// TestNewViewNotRecomputed checks that conf does not recompute O (§8.6): a NEW-VIEW
// whose O differs from §8.5 but passes NV6 and NV7 is accepted.
func TestNewViewNotRecomputed(t *testing.T) {
	fx := newFixture(t, 2, 73)
	vcs, o := fx.NewViewScenario()
	o[0].Digest = agreebtest.Digest(0x77)
	fx.MustAccept(agreebtest.Input(spec.KindNewView, agreebtest.Ptr(fx.NewView(5, vcs, o[:2]))))
	if st := fx.Status(); st.View != 5 {
		t.Fatalf("seed %d: status %+v", fx.Seed, st)
	}
}

// TestNewViewRules covers N1–N4 with every line NV1–NV7 (§8.6, §10.6).
func TestNewViewRules(t *testing.T) {
	cases := append(agreebtest.NewViewSenderCases("N"), agreebtest.NewViewCheckCases()...)
	agreebtest.RunNewViewCases(t, &testSetup, cases)
}

// TestNewViewInvalidViewChange covers NV5 for every line of §5.1 (K1–K5, C1–C6,
// V4, V5): a NEW-VIEW carrying a signed VIEW-CHANGE with invalid content is
// rejected with bad-certificate.
func TestNewViewInvalidViewChange(t *testing.T) {
	agreebtest.RunNewViewInvalidViewChange(t, &testSetup)
}
