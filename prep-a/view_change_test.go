package prepa

import (
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// id returns the replica id of the prep under test.
func (h *harness) id() uint64 { return h.p.self.Replica }

// cert returns a prepared certificate for (view, seq, d) whose PREPAREs come from the
// 2f lowest non-primary replicas other than the prep under test (whose key the
// fixture lacks); primary(view) must not be the prep under test.
func (h *harness) cert(view, seq uint64, d spec.Digest) spec.PreparedCert {
	var rs []uint64
	for r := uint64(0); r < h.c.N() && len(rs) < 2*int(h.c.Config.F); r++ {
		if r != h.c.Primary(view) && r != h.id() {
			rs = append(rs, r)
		}
	}
	return h.c.PreparedCert(view, seq, d, rs...)
}

// stableAt returns a checkpoint certificate for (seq, state(seq)) from execs 0..q-1.
func (h *harness) stableAt(seq uint64) spec.CheckpointCert {
	return h.c.CheckpointCert(seq, state(byte(seq)), 0, 1, 2)
}

func vcIn(vc spec.ViewChange) spec.Input { return fixture.In(spec.KindViewChange, &vc) }

// TestViewChangeRules covers VC1–VC6 of SPEC.md §9.6, and V3–V6 / K1–K5 / C1–C6
// inside VC4, at a prep that is not the new primary.
func TestViewChangeRules(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(30))
	c := h.c
	ok := h.cert(0, 3, dg(1))
	stored := c.ViewChange(2, 3, h.stableAt(2), h.cert(0, 3, dg(1)))
	if outs := h.Accept(vcIn(stored)); len(outs) != 0 {
		h.Fatalf("view-change produced %s", describe(outs))
	}
	badSig := c.ViewChange(1, 0, genesis())
	badSig.Sig[3] ^= 1
	mut := func(f func(*spec.PreparedCert)) spec.PreparedCert {
		pc := h.cert(0, 3, dg(1))
		f(&pc)
		return pc
	}
	cpMut := func(f func(*spec.CheckpointCert)) spec.CheckpointCert {
		cc := h.stableAt(2)
		f(&cc)
		return cc
	}
	tests := []struct {
		name string
		vc   spec.ViewChange
		code uint64
	}{
		{"VC1 replica n", spec.ViewChange{Body: spec.ViewChangeBody{View: 1, Replica: 4}}, spec.CodeUnknownSender},
		{"VC2 view 0", c.ViewChange(0, 0, genesis()), spec.CodeStale},
		{"VC3 bad signature", badSig, spec.CodeBadSignature},
		{"K1 genesis with state", c.ViewChange(1, 0, spec.CheckpointCert{State: dg(1)}), spec.CodeBadCertificate},
		{"K2 not multiple of K", c.ViewChange(1, 0, c.CheckpointCert(3, state(3), 0, 1, 2)), spec.CodeBadCertificate},
		{"K2 short proof", c.ViewChange(1, 0, c.CheckpointCert(2, state(2), 0, 1)), spec.CodeBadCertificate},
		{"K3 unsorted proof", c.ViewChange(1, 0, c.CheckpointCert(2, state(2), 0, 2, 1)), spec.CodeBadCertificate},
		{"K3 replica n", c.ViewChange(1, 0, cpMut(func(cc *spec.CheckpointCert) { cc.Proof[2].Body.Replica = 4 })), spec.CodeBadCertificate},
		{"K4 other state", c.ViewChange(1, 0, cpMut(func(cc *spec.CheckpointCert) { cc.Proof[1] = c.Checkpoint(2, state(9), 1) })), spec.CodeBadCertificate},
		{"K5 bad proof sig", c.ViewChange(1, 0, cpMut(func(cc *spec.CheckpointCert) { cc.Proof[1].Sig[0] ^= 1 })), spec.CodeBadCertificate},
		{"V4 unsorted", c.ViewChange(1, 0, genesis(), h.cert(0, 4, dg(1)), h.cert(0, 3, dg(1))), spec.CodeBadCertificate},
		{"V4 same seq twice", c.ViewChange(1, 0, genesis(), ok, ok), spec.CodeBadCertificate},
		{"V5 seq at stable", c.ViewChange(1, 0, h.stableAt(2), h.cert(0, 2, dg(1))), spec.CodeBadCertificate},
		{"V5 seq above stable+L", c.ViewChange(1, 0, genesis(), h.cert(0, 9, dg(1))), spec.CodeBadCertificate},
		{"V5 view not below", c.ViewChange(1, 0, genesis(), h.cert(1, 3, dg(1))), spec.CodeBadCertificate},
		{"C1 header not primary", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Header = c.PrePrepareBy(3, 0, 3, dg(1)) })), spec.CodeBadCertificate},
		{"C2 header bad sig", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Header.Sig[0] ^= 1 })), spec.CodeBadCertificate},
		{"C3 one prepare", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Prepares = pc.Prepares[:1] })), spec.CodeBadCertificate},
		{"C4 primary prepares", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Prepares[0] = c.Prepare(0, 3, dg(1), 0) })), spec.CodeBadCertificate},
		{"C4 unsorted", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Prepares[0], pc.Prepares[1] = pc.Prepares[1], pc.Prepares[0] })), spec.CodeBadCertificate},
		{"C5 other digest", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Prepares[1] = c.Prepare(0, 3, dg(2), 3) })), spec.CodeBadCertificate},
		{"C6 prepare bad sig", c.ViewChange(1, 0, genesis(), mut(func(pc *spec.PreparedCert) { pc.Prepares[1].Sig[9] ^= 1 })), spec.CodeBadCertificate},
		{"VC5 lower view", c.ViewChange(1, 3, genesis()), spec.CodeStale},
		{"VC5 same view other bytes", c.ViewChange(2, 3, genesis()), spec.CodeConflict},
		{"VC6 duplicate", stored, spec.CodeDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(vcIn(tc.vc), tc.code, 0)
		})
	}
	h.t = t
	var many []spec.PreparedCert
	for s := uint64(1); s <= 9; s++ {
		many = append(many, h.cert(0, s, dg(1)))
	}
	h.Reject(vcIn(c.ViewChange(1, 0, genesis(), many...)), spec.CodeBadCertificate, 0) // V4 len > L (and V5)
	// a higher view replaces the stored one.
	h.Accept(vcIn(c.ViewChange(3, 3, genesis())))
	if !strings.Contains(h.State(), "viewchange r=3 view=3 ") {
		h.Fatalf("higher view did not replace:\n%s", h.State())
	}
}

// nvScenario is the view change to w = 5 used by the NEW-VIEW tests: three
// view-changes (confs 0, others[0], others[1]) with prepared certificates in several
// views, a stable checkpoint at 2 carried by the middle one, a gap at seq 6, and two
// equal-view candidates at seq 4.
func (h *harness) nvScenario(confs [3]uint64, views [3]uint64) []spec.ViewChange {
	c := h.c
	return []spec.ViewChange{
		c.ViewChange(5, confs[0], genesis(), h.cert(views[1], 1, dg(0xa)), h.cert(views[0], 3, dg(0xb))),
		c.ViewChange(5, confs[1], h.stableAt(2), h.cert(views[2], 3, dg(0xc)), h.cert(views[2], 4, dg(0xe)), h.cert(views[2], 5, dg(0xf))),
		c.ViewChange(5, confs[2], genesis(), h.cert(views[2], 4, dg(0xd)), h.cert(views[1], 7, dg(0x7))),
	}
}

// TestNewViewBuilt: the new primary builds the NEW-VIEW once it holds q
// view-changes for its view (SPEC.md §9.6, §8.5), enters the view, adopts the
// checkpoint, and proposes after maxS.
func TestNewViewBuilt(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(31)) // primary(5) = 1
	vcs := h.nvScenario([3]uint64{0, 2, 3}, [3]uint64{0, 2, 3})
	h.Accept(vcIn(h.c.ViewChange(6, 1, genesis()))) // another view does not count
	h.Accept(vcIn(vcs[0]))
	if outs := h.Accept(vcIn(vcs[1])); len(outs) != 0 {
		h.Fatalf("NEW-VIEW before q view-changes: %s", describe(outs))
	}
	o := h.Only(h.Accept(vcIn(vcs[2])), spec.KindNewView)
	h.CheckTo(o, spec.ToPrep|spec.ToConf|spec.ToExec)
	var nv spec.NewView
	h.Decode(o, &nv)
	null := spec.NullBatchDigest()
	want := []spec.Slot{{View: 5, Seq: 3, Digest: dg(0xc), Replica: 1}, {View: 5, Seq: 4, Digest: dg(0xd), Replica: 1},
		{View: 5, Seq: 5, Digest: dg(0xf), Replica: 1}, {View: 5, Seq: 6, Digest: null, Replica: 1}, {View: 5, Seq: 7, Digest: dg(0x7), Replica: 1}}
	fixO, _ := h.c.ComputeO(5, vcs)
	if fmt.Sprint(fixO) != fmt.Sprint(want) {
		t.Fatalf("fixture O %v disagrees with the hand-derived %v", fixO, want)
	}
	h.checkNewView(&nv, vcs, want)
	_, st := h.Step()
	if st.View != 5 || st.Stable != 2 || st.Last != 7 {
		h.Fatalf("status %+v", st)
	}
	if strings.Contains(h.State(), "viewchange r=0 ") || !strings.Contains(h.State(), "viewchange r=1 view=6") {
		h.Fatalf("view-changes for views ≤ 5 must go, later ones stay:\n%s", h.State())
	}
	if p := h.proposeAsPrimary(h.batch(1)); p.Header.Body.View != 5 || p.Header.Body.Seq != 8 {
		h.Fatalf("proposal %+v, want view 5 seq 8", p.Header.Body)
	}
	h.Reject(vcIn(h.c.ViewChange(5, 0, genesis())), spec.CodeStale, 0)
}

// checkNewView checks a NEW-VIEW built by the prep under test.
func (h *harness) checkNewView(nv *spec.NewView, vcs []spec.ViewChange, o []spec.Slot) {
	h.t.Helper()
	b := &nv.Body
	if b.View != 5 || b.Replica != h.id() || fmt.Sprint(spec.Encode(&b.ViewChanges)) != fmt.Sprint(spec.Encode(&vcs)) {
		h.Fatalf("new-view body %d %d with %d view-changes", b.View, b.Replica, len(b.ViewChanges))
	}
	if !h.c.Verify(spec.RolePrep, h.id(), spec.DomainNewView, b, nv.Sig) {
		h.Fatalf("new-view signature")
	}
	if len(b.PrePrepares) != len(o) {
		h.Fatalf("%d pre-prepares, want %d", len(b.PrePrepares), len(o))
	}
	for i, pp := range b.PrePrepares {
		if pp.Body != o[i] || !h.c.Verify(spec.RolePrep, h.id(), spec.DomainPrePrepare, &pp.Body, pp.Sig) {
			h.Fatalf("pre-prepare %d: %+v, want %+v", i, pp.Body, o[i])
		}
	}
}
