package prepb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// baseViewChangeBody is a valid VIEW-CHANGE body for view 1 from conf 0: stable
// checkpoint 2 and prepared certificates for seqs 3 and 4 of view 0.
func (fx *fixture) baseViewChangeBody() spec.ViewChangeBody {
	return spec.ViewChangeBody{
		View: 1, Replica: 0,
		Stable:   fx.checkpointCert(2, digest(2), 0, 1, 2),
		Prepared: []spec.PreparedCert{fx.preparedCert(0, 3, digest(3)), fx.preparedCert(0, 4, digest(4))},
	}
}

// signedViewChange signs body as its sender's conf.
func (fx *fixture) signedViewChange(body spec.ViewChangeBody) spec.ViewChange {
	return spec.ViewChange{Body: body, Sig: fx.sign(fx.confs[body.Replica%testN], spec.DomainViewChange, &body)}
}

// invalidContents lists one mutation per line of §5.1 (K1–K5, C1–C6, V4, V5) that
// makes a signed VIEW-CHANGE's content invalid.
func (fx *fixture) invalidContents() []struct {
	name string
	mut  func(b *spec.ViewChangeBody)
} {
	return []struct {
		name string
		mut  func(b *spec.ViewChangeBody)
	}{
		{"K1 genesis with state", func(b *spec.ViewChangeBody) { b.Stable = spec.CheckpointCert{State: digest(1)}; b.Prepared = nil }},
		{"K1 genesis with proof", func(b *spec.ViewChangeBody) {
			b.Stable = spec.CheckpointCert{Proof: []spec.Checkpoint{fx.checkpoint(0, spec.Digest{}, 0)}}
			b.Prepared = nil
		}},
		{"K2 seq not a multiple of K", func(b *spec.ViewChangeBody) { b.Stable = fx.checkpointCert(3, digest(2), 0, 1, 2); b.Prepared = nil }},
		{"K2 short proof", func(b *spec.ViewChangeBody) { b.Stable.Proof = b.Stable.Proof[:2] }},
		{"K3 proof not increasing", func(b *spec.ViewChangeBody) { b.Stable = fx.checkpointCert(2, digest(2), 0, 2, 1) }},
		{"K3 proof sender out of range", func(b *spec.ViewChangeBody) {
			b.Stable = fx.checkpointCert(2, digest(2), 0, 1, 2)
			b.Stable.Proof[2].Body.Replica = testN
		}},
		{"K4 proof seq differs", func(b *spec.ViewChangeBody) { b.Stable.Proof[1] = fx.checkpoint(4, digest(2), 1) }},
		{"K4 proof state differs", func(b *spec.ViewChangeBody) { b.Stable.Proof[1] = fx.checkpoint(2, digest(7), 1) }},
		{"K5 proof signature", func(b *spec.ViewChangeBody) { b.Stable.Proof[2].Sig[1] ^= 1 }},
		{"V4 too many prepared", func(b *spec.ViewChangeBody) {
			b.Prepared = nil
			for s := uint64(3); s <= 3+testL; s++ {
				b.Prepared = append(b.Prepared, fx.preparedCert(0, s, digest(1)))
			}
		}},
		{"V4 seqs not increasing", func(b *spec.ViewChangeBody) { b.Prepared[0], b.Prepared[1] = b.Prepared[1], b.Prepared[0] }},
		{"V4 seq repeated", func(b *spec.ViewChangeBody) { b.Prepared[1] = fx.preparedCert(0, 3, digest(5)) }},
		{"V5 seq at stable", func(b *spec.ViewChangeBody) { b.Prepared[0] = fx.preparedCert(0, 2, digest(3)) }},
		{"V5 seq above window", func(b *spec.ViewChangeBody) { b.Prepared[1] = fx.preparedCert(0, 2+testL+1, digest(3)) }},
		{"V5 view not below", func(b *spec.ViewChangeBody) { b.Prepared[1] = fx.preparedCert(1, 4, digest(4)) }},
		{"C1 header not from primary", func(b *spec.ViewChangeBody) { b.Prepared[0].Header = fx.prePrepare(0, 3, digest(3), 1) }},
		{"C2 header signature", func(b *spec.ViewChangeBody) { b.Prepared[0].Header.Sig[2] ^= 1 }},
		{"C3 too few prepares", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares = b.Prepared[0].Prepares[:1] }},
		{"C3 too many prepares", func(b *spec.ViewChangeBody) {
			b.Prepared[0].Prepares = append(b.Prepared[0].Prepares, fx.prepare(0, 3, digest(3), 3))
		}},
		{"C4 prepares not increasing", func(b *spec.ViewChangeBody) {
			p := b.Prepared[0].Prepares
			p[0], p[1] = p[1], p[0]
		}},
		{"C4 prepare from the primary", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[0] = fx.prepare(0, 3, digest(3), 0) }},
		{"C4 prepare sender out of range", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1].Body.Replica = testN }},
		{"C5 prepare digest differs", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1] = fx.prepare(0, 3, digest(9), 2) }},
		{"C5 prepare view differs", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1] = fx.prepare(1, 3, digest(3), 2) }},
		{"C6 prepare signature", func(b *spec.ViewChangeBody) { b.Prepared[1].Prepares[0].Sig[40] ^= 1 }},
	}
}

// TestViewChangeRules covers VC1–VC6 (§9.6), and VC4 for every line of §5.1.
func TestViewChangeRules(t *testing.T) {
	fx := newFixture(t, 2, 61)
	base := fx.baseViewChangeBody()
	fx.mustAccept(input(spec.KindViewChange, ptr(fx.signedViewChange(base)))) // the base is valid
	for i, c := range fx.invalidContents() {
		t.Run("VC4 "+c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(600+i))
			b := fx.baseViewChangeBody()
			c.mut(&b)
			fx.expectReject(input(spec.KindViewChange, ptr(fx.signedViewChange(b))), spec.CodeBadCertificate, 0)
		})
	}
	type setup func(fx *fixture) spec.ViewChange
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"VC1 unknown sender", func(fx *fixture) spec.ViewChange {
			b := fx.baseViewChangeBody()
			b.Replica = testN
			return fx.signedViewChange(b)
		}, spec.CodeUnknownSender},
		{"VC2 stale view", func(fx *fixture) spec.ViewChange {
			b := fx.baseViewChangeBody()
			b.View = 0
			b.Prepared = nil
			return fx.signedViewChange(b)
		}, spec.CodeStale},
		{"VC2 view not above after a view change", func(fx *fixture) spec.ViewChange {
			fx.enterViewByNewView(1)
			return fx.signedViewChange(fx.baseViewChangeBody())
		}, spec.CodeStale},
		{"VC3 bad signature", func(fx *fixture) spec.ViewChange {
			vc := fx.signedViewChange(fx.baseViewChangeBody())
			vc.Sig[0] ^= 1
			return vc
		}, spec.CodeBadSignature},
		{"VC3 signed by another conf", func(fx *fixture) spec.ViewChange {
			vc := fx.signedViewChange(fx.baseViewChangeBody())
			vc.Body.Replica = 1
			return vc
		}, spec.CodeBadSignature},
		{"VC5 lower view than stored", func(fx *fixture) spec.ViewChange {
			b := fx.baseViewChangeBody()
			b.View = 3
			fx.mustAccept(input(spec.KindViewChange, ptr(fx.signedViewChange(b))))
			return fx.signedViewChange(fx.baseViewChangeBody())
		}, spec.CodeStale},
		{"VC5 same view other bytes", func(fx *fixture) spec.ViewChange {
			fx.mustAccept(input(spec.KindViewChange, ptr(fx.signedViewChange(fx.baseViewChangeBody()))))
			b := fx.baseViewChangeBody()
			b.Prepared = b.Prepared[:1]
			return fx.signedViewChange(b)
		}, spec.CodeConflict},
		{"VC6 duplicate", func(fx *fixture) spec.ViewChange {
			vc := fx.signedViewChange(fx.baseViewChangeBody())
			fx.mustAccept(input(spec.KindViewChange, &vc))
			return vc
		}, spec.CodeDuplicate},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(650+i))
			vc := c.setup(fx)
			fx.expectReject(input(spec.KindViewChange, &vc), c.code, 0)
		})
	}
}

// TestViewChangeReplaced checks that a VIEW-CHANGE for a higher view replaces the
// sender's stored one (§9.6 VC5 first alternative).
func TestViewChangeReplaced(t *testing.T) {
	fx := newFixture(t, 2, 62)
	fx.mustAccept(input(spec.KindViewChange, ptr(fx.signedViewChange(fx.baseViewChangeBody()))))
	b := fx.baseViewChangeBody()
	b.View = 3
	fx.mustAccept(input(spec.KindViewChange, ptr(fx.signedViewChange(b))))
	if d := fx.p.DebugState(); !strings.Contains(d, "view-change from=0 view=3 ") || strings.Contains(d, "view=1 enc") {
		t.Fatalf("seed %d: stored view changes:\n%s", fx.seed, d)
	}
}

// newViewScenario returns the VIEW-CHANGEs of confs 0, 2 and 3 for view 5 (primary
// 1) and the O set §8.5 derives from them: minS = 2 (best is conf 2), maxS = 6;
// seq 3 takes the smallest digest of the highest view (2); 4 and 5 are gaps (null);
// 6 has one certificate. Seq 1 (≤ minS) is ignored.
func (fx *fixture) newViewScenario() ([]spec.ViewChange, []spec.Slot) {
	dA, dB, dC, dD := digest(0xa0), digest(0x10), digest(0x20), digest(0xd0)
	vc0 := fx.viewChange(5, 0, genesis(), fx.preparedCert(0, 1, dA), fx.preparedCert(0, 3, dA))
	vc2 := fx.viewChange(5, 2, fx.checkpointCert(2, digest(2), 0, 1, 2), fx.preparedCert(2, 3, dC), fx.preparedCert(1, 6, dD))
	vc3 := fx.viewChange(5, 3, genesis(), fx.preparedCert(2, 3, dB))
	null := spec.NullBatchDigest()
	o := []spec.Slot{
		{View: 5, Seq: 3, Digest: dB, Replica: 1},
		{View: 5, Seq: 4, Digest: null, Replica: 1},
		{View: 5, Seq: 5, Digest: null, Replica: 1},
		{View: 5, Seq: 6, Digest: dD, Replica: 1},
	}
	return []spec.ViewChange{vc0, vc2, vc3}, o
}

// TestBuildNewView checks §9.6 at the new primary: nothing until q VIEW-CHANGEs for
// the view, then the NEW-VIEW byte for byte (O of §8.5), the adopted checkpoint,
// seqHigh = max(h, maxS), and proposals continuing after maxS.
func TestBuildNewView(t *testing.T) {
	fx := newFixture(t, 1, 63)
	vcs, o := fx.newViewScenario()
	other := fx.viewChange(6, 1, genesis()) // a later view is kept
	fx.mustAccept(input(spec.KindViewChange, &other))
	for _, vc := range vcs[:2] {
		if outs := fx.mustAccept(input(spec.KindViewChange, &vc)); len(outs) != 0 {
			t.Fatalf("seed %d: output before q view changes: %s", fx.seed, describe(outs))
		}
	}
	outs := fx.mustAccept(input(spec.KindViewChange, &vcs[2]))
	nv := fx.newView(5, vcs, o)
	fx.expectOutputs(outs, []spec.Output{output(spec.KindNewView, spec.ToPrep|spec.ToConf|spec.ToExec, &nv)})
	st := fx.status()
	if st.View != 5 || st.Stable != 2 || st.Last != 6 {
		t.Fatalf("seed %d: status %+v after NEW-VIEW", fx.seed, st)
	}
	if d := fx.p.DebugState(); !strings.Contains(d, "view-change from=1 view=6") || strings.Contains(d, "view=5 enc") {
		t.Fatalf("seed %d: view changes after NEW-VIEW:\n%s", fx.seed, d)
	}
	b := fx.batch(1)
	fx.expectReject(input(spec.KindClientBatch, &b), spec.CodeWindowFull, 0) // 7 > h + L
	fx.makeStable(4)
	fx.expectOutputs(fx.mustAccept(input(spec.KindClientBatch, &b)), []spec.Output{fx.expectedProposal(5, 7, b)})
}

// TestNoNewViewAtBackup checks that a prep that is not the view's primary only
// stores VIEW-CHANGEs.
func TestNoNewViewAtBackup(t *testing.T) {
	fx := newFixture(t, 2, 64)
	vcs, _ := fx.newViewScenario()
	for _, vc := range vcs {
		if outs := fx.mustAccept(input(spec.KindViewChange, &vc)); len(outs) != 0 {
			t.Fatalf("seed %d: backup produced %s", fx.seed, describe(outs))
		}
	}
	if st := fx.status(); st.View != 0 {
		t.Fatalf("backup changed view")
	}
}
