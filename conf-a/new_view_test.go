package confa

import (
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

func nvIn(nv spec.NewView) spec.Input { return fixture.In(spec.KindNewView, &nv) }

// nvScenario returns view-changes of confs 0, 1, 3 to view w (their own prepared
// certificates from views 0 and w-1 or so) with a stable checkpoint at 2, and the O
// set the fixture derives from them.
func (h *harness) nvScenario(w uint64) ([]spec.ViewChange, []spec.Slot) {
	c := h.c
	cert := func(view, seq uint64, d spec.Digest) spec.PreparedCert {
		return c.PreparedCert(view, seq, d, c.Backups(view)...)
	}
	vcs := []spec.ViewChange{
		c.ViewChange(w, 0, genesis(), cert(0, 1, dg(1)), cert(0, 3, dg(3))),
		c.ViewChange(w, 1, c.CheckpointCert(2, state(2), 0, 1, 3), cert(0, 4, dg(4))),
		c.ViewChange(w, 3, genesis(), cert(0, 6, dg(6))),
	}
	o, _ := c.ComputeO(w, vcs)
	return vcs, o
}

// TestNewViewEndsViewChange: after a suspicion, the NEW-VIEW for the view ends the
// change: the view is active, the checkpoint adopted, O's entries above h stored as
// PRE-PREPAREs, so that 2f PREPAREs commit them, null batches included (§10.6).
func TestNewViewEndsViewChange(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(40))
	c := h.c
	h.commit(h.prepared(0, 1, dg(1), 1, 3))
	h.Accept(suspectIn(0))
	vcs, o := h.nvScenario(1)
	if fmt.Sprint(len(o), o[2].Digest == spec.NullBatchDigest()) != "4 true" {
		t.Fatalf("scenario O %v", o)
	}
	if outs := h.Accept(nvIn(c.NewView(1, vcs, o))); len(outs) != 0 {
		h.Fatalf("new-view produced %s", describe(outs))
	}
	_, st := h.Step()
	if st.View != 1 || !st.ViewActive || st.Stable != 2 || st.Last != 1 {
		h.Fatalf("status %+v", st)
	}
	if strings.Contains(h.State(), "pset s=1 ") {
		h.Fatalf("certificate below the adopted checkpoint survives")
	}
	for _, e := range o { // seqs 3..6; backups of view 1 are 0, 2, 3
		h.Accept(prIn(c.Prepare(1, e.Seq, e.Digest, 0)))
		cm := h.commit(h.Accept(prIn(c.Prepare(1, e.Seq, e.Digest, 3))))
		if cm.Body != (spec.Slot{View: 1, Seq: e.Seq, Digest: e.Digest, Replica: 2}) {
			h.Fatalf("commit %+v", cm.Body)
		}
	}
	h.Reject(ppIn(c.PrePrepare(1, 3, dg(9))), spec.CodeConflict, 0) // O entry is the slot's PRE-PREPARE
	h.Reject(ppIn(c.PrePrepare(1, 3, o[0].Digest)), spec.CodeDuplicate, 0)
	h.Reject(nvIn(c.NewView(1, vcs, o)), spec.CodeStale, 0) // N3: same view, active
}

// TestNewViewJumps: an active conf accepts a NEW-VIEW for a later view.
func TestNewViewJumps(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(41))
	vcs, o := h.nvScenario(5)
	h.Accept(nvIn(h.c.NewView(5, vcs, o)))
	if _, st := h.Step(); st.View != 5 || !st.ViewActive {
		h.Fatalf("status %+v", st)
	}
	h.Reject(nvIn(h.c.NewView(4, mustVCs(h, 4), nil)), spec.CodeStale, 0) // N3: older view
}

func mustVCs(h *harness, w uint64) []spec.ViewChange {
	vcs, _ := h.nvScenario(w)
	return vcs
}

// TestNewViewRules covers N1–N4 with NV3–NV7.
func TestNewViewRules(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(42))
	c := h.c
	h.Accept(suspectIn(0))
	vcs, o := h.nvScenario(1)
	good := c.NewView(1, vcs, o)
	body := func(f func(b *spec.NewViewBody)) spec.NewView {
		b := good.Body
		b.ViewChanges = append([]spec.ViewChange(nil), vcs...)
		b.PrePrepares = append([]spec.PrePrepare(nil), good.Body.PrePrepares...)
		f(&b)
		return c.SignNewView(b)
	}
	withO := func(slots []spec.Slot) spec.NewView { return c.NewView(1, vcs, slots) }
	badSig := good
	badSig.Sig[7] ^= 1
	tests := []struct {
		name string
		nv   spec.NewView
		code uint64
	}{
		{"N1 replica n", spec.NewView{Body: spec.NewViewBody{View: 1, Replica: 5}}, spec.CodeUnknownSender},
		{"N2 not primary", spec.NewView{Body: spec.NewViewBody{View: 1, Replica: 0}}, spec.CodeNotPrimary},
		{"N3 older view", spec.NewView{Body: spec.NewViewBody{View: 0, Replica: 0}}, spec.CodeStale},
		{"NV3 bad signature", badSig, spec.CodeBadSignature},
		{"NV4 four view-changes", body(func(b *spec.NewViewBody) { b.ViewChanges = append(b.ViewChanges, b.ViewChanges[2]) }), spec.CodeBadCertificate},
		{"NV4 duplicate sender", body(func(b *spec.NewViewBody) { b.ViewChanges[1] = b.ViewChanges[0] }), spec.CodeBadCertificate},
		{"NV5 bad view-change", body(func(b *spec.NewViewBody) { b.ViewChanges[1].Sig[0] ^= 1 }), spec.CodeBadCertificate},
		{"NV5 bad checkpoint proof", body(func(b *spec.NewViewBody) {
			st := c.CheckpointCert(2, state(2), 0, 1, 3)
			st.Proof[2].Sig[0] ^= 1
			b.ViewChanges[1] = c.ViewChange(1, 1, st)
		}), spec.CodeBadCertificate},
		{"NV6 too many", withO(make([]spec.Slot, 9)), spec.CodeBadNewView},
		{"NV6 seq at minS", withO(append([]spec.Slot{{View: 1, Seq: 2, Replica: 1}}, o...)), spec.CodeBadNewView},
		{"NV6 wrong view", body(func(b *spec.NewViewBody) { b.PrePrepares[0] = c.PrePrepareBy(1, 0, 3, dg(3)) }), spec.CodeBadNewView},
		{"NV7 bad pre-prepare sig", body(func(b *spec.NewViewBody) { b.PrePrepares[1].Sig[0] ^= 1 }), spec.CodeBadNewView},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(nvIn(tc.nv), tc.code, 0)
		})
	}
	h.t = t
	// conf does not re-derive O (§8.6): another valid-looking set is accepted.
	other := append([]spec.Slot(nil), o...)
	other[0].Digest = dg(0x77)
	h.Accept(nvIn(c.NewView(1, vcs, other)))
}
