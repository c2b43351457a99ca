package prepa

import (
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

func nvIn(nv spec.NewView) spec.Input { return fixture.In(spec.KindNewView, &nv) }

// backupScenario returns a prep of replica 2 (a backup in view 5) and a valid
// NEW-VIEW for view 5 with its O set.
func backupScenario(t *testing.T, seed uint64) (*harness, []spec.ViewChange, []spec.Slot) {
	h := newHarness(t, 2, defaultOpts(seed))
	vcs := h.nvScenario([3]uint64{0, 1, 3}, [3]uint64{0, 1, 3}) // no view with primary 2
	o, _ := h.c.ComputeO(5, vcs)
	return h, vcs, o
}

// TestNewViewAccepted: a backup validates a NEW-VIEW, enters the view, adopts its
// checkpoint and prepares every O entry, null batches included (SPEC.md §9.7).
func TestNewViewAccepted(t *testing.T) {
	h, vcs, o := backupScenario(t, 40)
	h.prepareAsBackup(0, 1, h.batch(1))
	outs := h.Accept(nvIn(h.c.NewView(5, vcs, o)))
	if len(outs) != len(o) || len(o) != 5 {
		h.Fatalf("want %d prepares, got:\n%s", len(o), describe(outs))
	}
	for i, out := range outs {
		var p spec.Prepare
		h.Decode(out, &p)
		h.CheckTo(out, spec.ToConf)
		want := spec.Slot{View: 5, Seq: o[i].Seq, Digest: o[i].Digest, Replica: 2}
		if out.Kind != spec.KindPrepare || p.Body != want || !h.c.Verify(spec.RolePrep, 2, spec.DomainPrepare, &p.Body, p.Sig) {
			h.Fatalf("output %d: %+v, want prepare %+v", i, p.Body, want)
		}
	}
	_, st := h.Step()
	if st.View != 5 || st.Stable != 2 || st.Last != 7 {
		h.Fatalf("status %+v", st)
	}
	// the new view's proposals continue after maxS; old-view input is stale.
	h.prepareAsBackup(5, 8, h.batch(8))
	b := h.batch(9)
	h.Reject(fixture.In(spec.KindProposal, ptr(h.c.Proposal(4, 9, b))), spec.CodeStale, 0)             // P2 stale
	h.Reject(fixture.In(spec.KindProposal, ptr(h.c.Proposal(5, 4, h.batch(3)))), spec.CodeConflict, 0) // O entry holds seq 4
	h.Reject(nvIn(h.c.NewView(5, vcs, o)), spec.CodeStale, 0)                                          // W3
}

// TestNewViewAboveH: O entries at or below this prep's own h are not prepared.
func TestNewViewAboveH(t *testing.T) {
	h, vcs, o := backupScenario(t, 41)
	for _, r := range []uint64{0, 1, 3} {
		h.Accept(h.checkpoint(4, state(4), r))
	}
	outs := h.Accept(nvIn(h.c.NewView(5, vcs, o)))
	var seqs []uint64
	for _, out := range outs {
		var p spec.Prepare
		h.Decode(out, &p)
		seqs = append(seqs, p.Body.Seq)
	}
	if fmt.Sprint(seqs) != "[5 6 7]" {
		h.Fatalf("prepared %v, want [5 6 7]", seqs)
	}
	if _, st := h.Step(); st.Stable != 4 || st.Last != 7 {
		h.Fatalf("status %+v", st)
	}
}

// TestNewViewRules covers W1–W6 with NV3–NV7, each failing exactly one line.
func TestNewViewRules(t *testing.T) {
	h, vcs, o := backupScenario(t, 42)
	c := h.c
	good := c.NewView(5, vcs, o)
	body := func(f func(b *spec.NewViewBody)) spec.NewView {
		b := good.Body
		b.ViewChanges = append([]spec.ViewChange(nil), vcs...)
		b.PrePrepares = append([]spec.PrePrepare(nil), good.Body.PrePrepares...)
		f(&b)
		return c.SignNewView(b)
	}
	withO := func(slots []spec.Slot) spec.NewView { return c.NewView(5, vcs, slots) }
	shifted := append([]spec.Slot(nil), o...)
	shifted[1].Digest = dg(0x99)
	badSig := good
	badSig.Sig[0] ^= 1
	otherVC := c.ViewChange(5, 3, genesis(), h.cert(0, 3, dg(1)))
	otherVC.Sig[1] ^= 1
	tests := []struct {
		name string
		nv   spec.NewView
		code uint64
	}{
		{"W1 replica n", spec.NewView{Body: spec.NewViewBody{View: 4, Replica: 4}}, spec.CodeUnknownSender},
		{"W2 not primary", spec.NewView{Body: spec.NewViewBody{View: 5, Replica: 0}}, spec.CodeNotPrimary},
		{"W3 view 0", spec.NewView{Body: spec.NewViewBody{View: 0, Replica: 0}}, spec.CodeStale},
		{"NV3 bad signature", badSig, spec.CodeBadSignature},
		{"NV4 two view-changes", body(func(b *spec.NewViewBody) { b.ViewChanges = b.ViewChanges[:2] }), spec.CodeBadCertificate},
		{"NV4 unsorted", body(func(b *spec.NewViewBody) { b.ViewChanges[0], b.ViewChanges[1] = b.ViewChanges[1], b.ViewChanges[0] }), spec.CodeBadCertificate},
		{"NV4 other view", body(func(b *spec.NewViewBody) { b.ViewChanges[2] = c.ViewChange(6, 3, genesis()) }), spec.CodeBadCertificate},
		{"NV5 bad view-change sig", body(func(b *spec.NewViewBody) { b.ViewChanges[2] = otherVC }), spec.CodeBadCertificate},
		{"NV5 bad certificate", body(func(b *spec.NewViewBody) { b.ViewChanges[2] = c.ViewChange(5, 3, genesis(), h.cert(5, 3, dg(1))) }), spec.CodeBadCertificate},
		{"NV5 replica n", body(func(b *spec.NewViewBody) { b.ViewChanges[2].Body.Replica = 4 }), spec.CodeBadCertificate},
		{"NV6 other view", withO(setSlot(o, 0, func(s *spec.Slot) { s.View = 4 })), spec.CodeBadNewView},
		{"NV6 other replica", body(func(b *spec.NewViewBody) { b.PrePrepares[0] = c.PrePrepareBy(3, 5, 3, o[0].Digest) }), spec.CodeBadNewView},
		{"NV6 seq at minS", withO(append([]spec.Slot{{View: 5, Seq: 2, Replica: 1}}, o...)), spec.CodeBadNewView},
		{"NV6 seq above minS+L", withO(append(append([]spec.Slot(nil), o...), spec.Slot{View: 5, Seq: 11, Replica: 1})), spec.CodeBadNewView},
		{"NV6 unsorted", withO([]spec.Slot{o[1], o[0]}), spec.CodeBadNewView},
		{"NV7 bad pre-prepare sig", body(func(b *spec.NewViewBody) { b.PrePrepares[2].Sig[0] ^= 1 }), spec.CodeBadNewView},
		{"W6 other digest", withO(shifted), spec.CodeBadNewView},
		{"W6 missing entry", withO(o[:4]), spec.CodeBadNewView},
		{"W6 extra entry", withO(append(append([]spec.Slot(nil), o...), spec.Slot{View: 5, Seq: 8, Digest: spec.NullBatchDigest(), Replica: 1})), spec.CodeBadNewView},
		{"W6 empty", withO(nil), spec.CodeBadNewView},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(nvIn(tc.nv), tc.code, 0)
		})
	}
	h.t = t
	h.Accept(nvIn(good))
}

func setSlot(o []spec.Slot, i int, f func(*spec.Slot)) []spec.Slot {
	out := append([]spec.Slot(nil), o...)
	f(&out[i])
	return out
}
