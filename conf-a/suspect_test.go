package confa

import (
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// viewChangeOut decodes the single VIEW-CHANGE among outs and checks its destination
// and signature.
func (h *harness) viewChangeOut(outs []spec.Output) spec.ViewChange {
	h.t.Helper()
	o := h.Only(outs, spec.KindViewChange)
	h.CheckTo(o, spec.ToPrep)
	var vc spec.ViewChange
	h.Decode(o, &vc)
	if vc.Body.Replica != h.id() || !h.c.Verify(spec.RoleConf, h.id(), spec.DomainViewChange, &vc.Body, vc.Sig) {
		h.Fatalf("view-change %d does not verify as ours", vc.Body.View)
	}
	return vc
}

func preparedSeqs(vc spec.ViewChange) string {
	var s []string
	for _, pc := range vc.Body.Prepared {
		s = append(s, fmt.Sprintf("%d@%d", pc.Header.Body.Seq, pc.Header.Body.View))
	}
	return fmt.Sprint(s)
}

// TestSuspect: a suspicion moves to the next view, stops the normal case, and emits a
// VIEW-CHANGE with the stable certificate and the prepared certificates in the
// window; a second suspicion moves on again (SPEC.md §10.4).
func TestSuspect(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(20))
	h.commit(h.prepared(0, 3, dg(3), 1, 3))
	h.commit(h.prepared(0, 1, dg(1), 1, 3))
	h.prepared(0, 2, dg(2), 1)                    // not prepared: not in the view-change
	h.Reject(suspectIn(1), spec.CodeWrongView, 0) // S1
	vc := h.viewChangeOut(h.Accept(suspectIn(0)))
	if vc.Body.View != 1 || vc.Body.Stable.Seq != 0 || len(vc.Body.Stable.Proof) != 0 || preparedSeqs(vc) != "[1@0 3@0]" {
		h.Fatalf("view-change view %d stable %d prepared %s", vc.Body.View, vc.Body.Stable.Seq, preparedSeqs(vc))
	}
	if got, want := spec.Encode(&vc.Body.Prepared[0]), spec.Encode(h.p.pset[1]); string(got) != string(want) {
		h.Fatalf("prepared certificate differs from the one formed")
	}
	_, st := h.Step()
	if st.View != 1 || st.ViewActive || st.Last != 3 {
		h.Fatalf("status %+v", st)
	}
	h.Reject(suspectIn(0), spec.CodeStale, 0)      // S1
	vc2 := h.viewChangeOut(h.Accept(suspectIn(1))) // still changing: move on
	if vc2.Body.View != 2 || preparedSeqs(vc2) != "[1@0 3@0]" {
		h.Fatalf("second view-change view %d prepared %s", vc2.Body.View, preparedSeqs(vc2))
	}
	// a checkpoint at 2 drops the certificate of seq 1 and is carried as Stable.
	for _, r := range []uint64{0, 1, 3} {
		h.Accept(h.checkpoint(2, state(2), r))
	}
	vc3 := h.viewChangeOut(h.Accept(suspectIn(2)))
	if vc3.Body.Stable.Seq != 2 || len(vc3.Body.Stable.Proof) != 3 || preparedSeqs(vc3) != "[3@0]" {
		h.Fatalf("third view-change stable %d prepared %s", vc3.Body.Stable.Seq, preparedSeqs(vc3))
	}
}
