package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// signedViewChange signs body as its sender's conf.
func (fx *fixture) signedViewChange(body spec.ViewChangeBody) spec.ViewChange {
	return spec.ViewChange{Body: body, Sig: fx.sign(fx.confs[body.Replica%testN], spec.DomainViewChange, &body)}
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

// TestNewViewAccepted checks §10.6: enter view w and activate it, drop the slots,
// adopt best's checkpoint (dropping prepared certificates at or below it), install
// the O entries above h as PRE-PREPAREs without output, and commit once their
// PREPAREs arrive, with the NEW-VIEW's PRE-PREPARE as the certificate's header.
func TestNewViewAccepted(t *testing.T) {
	fx := newFixture(t, 2, 71)
	fx.prepareSlot(0, 1, digest(1), 1, 3)
	fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(0, 4, digest(4), 0))))
	vcs, o := fx.newViewScenario()
	nv := fx.newView(5, vcs, o)
	if outs := fx.mustAccept(input(spec.KindNewView, &nv)); len(outs) != 0 {
		t.Fatalf("seed %d: NEW-VIEW produced %s", fx.seed, describe(outs))
	}
	if st := fx.status(); st.View != 5 || !st.ViewActive || st.Stable != 2 || st.Last != 1 {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
	dump := fx.p.DebugState()
	if strings.Contains(dump, "pset seq=1 ") || strings.Count(dump, "slot seq=") != len(o) {
		t.Fatalf("seed %d: state after NEW-VIEW:\n%s", fx.seed, dump)
	}
	for _, e := range o {
		if !strings.Contains(dump, "pre-prepare "+hexOf(spec.Encode(&nv.Body.PrePrepares[e.Seq-3]))) {
			t.Fatalf("seed %d: O entry %d not installed:\n%s", fx.seed, e.Seq, dump)
		}
	}
	fx.expectReject(input(spec.KindPrePrepare, ptr(fx.prePrepare(5, 3, o[0].Digest, 1))), spec.CodeDuplicate, 0)
	fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(5, 3, o[0].Digest, 0))))
	outs := fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(5, 3, o[0].Digest, 3))))
	fx.expectOutputs(outs, []spec.Output{fx.expectedCommit(5, 3, o[0].Digest)})
	want := spec.PreparedCert{Header: nv.Body.PrePrepares[0], Prepares: []spec.Prepare{fx.prepare(5, 3, o[0].Digest, 0), fx.prepare(5, 3, o[0].Digest, 3)}}
	if !strings.Contains(fx.p.DebugState(), "pset seq=3 cert="+hexOf(spec.Encode(&want))) {
		t.Fatalf("seed %d: certificate does not use the NEW-VIEW's PRE-PREPARE", fx.seed)
	}
	fx.expectReject(input(spec.KindNewView, &nv), spec.CodeStale, 0) // N3: w == v and active
}

// TestNewViewSameViewAfterSuspect checks N3's second alternative: a NEW-VIEW for
// the view this conf moved to by suspicion is accepted; then it is stale; an older
// one is stale too.
func TestNewViewSameViewAfterSuspect(t *testing.T) {
	fx := newFixture(t, 2, 72)
	fx.suspect(0)
	vcs := []spec.ViewChange{fx.viewChange(1, 0, genesis()), fx.viewChange(1, 2, genesis()), fx.viewChange(1, 3, genesis())}
	nv := fx.newView(1, vcs, nil)
	fx.mustAccept(input(spec.KindNewView, &nv))
	if st := fx.status(); st.View != 1 || !st.ViewActive {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
	fx.expectReject(input(spec.KindNewView, &nv), spec.CodeStale, 0)
	fx.suspect(1)
	fx.suspect(2)
	fx.expectReject(input(spec.KindNewView, &nv), spec.CodeStale, 0) // w < v
}

// TestNewViewNotRecomputed checks that conf does not recompute O (§8.6): a NEW-VIEW
// whose O differs from §8.5 but passes NV6 and NV7 is accepted.
func TestNewViewNotRecomputed(t *testing.T) {
	fx := newFixture(t, 2, 73)
	vcs, o := fx.newViewScenario()
	o[0].Digest = digest(0x77)
	fx.mustAccept(input(spec.KindNewView, ptr(fx.newView(5, vcs, o[:2]))))
	if st := fx.status(); st.View != 5 {
		t.Fatalf("seed %d: status %+v", fx.seed, st)
	}
}

// TestNewViewRules covers N1–N4 with every line NV1–NV7 (§8.6, §10.6).
func TestNewViewRules(t *testing.T) {
	type mut func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView
	resign := func(fx *fixture, nv spec.NewView) spec.NewView {
		nv.Sig = fx.sign(fx.preps[nv.Body.Replica%testN], spec.DomainNewView, &nv.Body)
		return nv
	}
	cases := []struct {
		name string
		mut  mut
		code uint64
	}{
		{"N1 unknown sender", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.Replica = 5
			return resign(fx, nv)
		}, spec.CodeUnknownSender},
		{"N2 not primary", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.Replica = 3
			return resign(fx, nv)
		}, spec.CodeNotPrimary},
		{"N3 stale", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(0, []spec.ViewChange{fx.viewChange(0, 0, genesis()), fx.viewChange(0, 1, genesis()), fx.viewChange(0, 3, genesis())}, nil)
		}, spec.CodeStale},
		{"NV3 bad signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Sig[9] ^= 1
			return nv
		}, spec.CodeBadSignature},
		{"NV4 too few view changes", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, vcs[1:], o)
		}, spec.CodeBadCertificate},
		{"NV4 senders not increasing", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[1], vcs[0], vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV4 view change for another view", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.viewChange(4, 3, genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V1 sender out of range", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.viewChange(5, testN, genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V2 view change signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			vcs[2].Sig[3] ^= 1
			return fx.newView(5, vcs, o)
		}, spec.CodeBadCertificate},
		{"NV5 V3 stable certificate", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[1].Body
			b.Stable.Proof = b.Stable.Proof[:2]
			return fx.newView(5, []spec.ViewChange{vcs[0], fx.signedViewChange(b), vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V6 prepared certificate", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[2].Body
			b.Prepared = []spec.PreparedCert{fx.preparedCert(2, 3, digest(0x10))}
			b.Prepared[0].Prepares[0].Sig[0] ^= 1
			return fx.newView(5, []spec.ViewChange{vcs[0], vcs[1], fx.signedViewChange(b)}, o)
		}, spec.CodeBadCertificate},
		{"NV6 too many entries", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append(o, spec.Slot{View: 5, Seq: 7, Replica: 1})
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry for another view", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1].View = 4
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry from another replica", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[0].Replica = 2
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seqs not increasing", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1], o[2] = o[2], o[1]
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq at minS", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append([]spec.Slot{{View: 5, Seq: 2, Replica: 1}}, o[:3]...)
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq above minS+L", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[3].Seq = 2 + testL + 1
			return fx.newView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV7 entry signature", func(fx *fixture, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := fx.newView(5, vcs, o)
			nv.Body.PrePrepares[2].Sig[0] ^= 1
			return resign(fx, nv)
		}, spec.CodeBadNewView},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(700+i))
			vcs, o := fx.newViewScenario()
			nv := c.mut(fx, vcs, o)
			fx.expectReject(input(spec.KindNewView, &nv), c.code, 0)
		})
	}
}

// baseViewChangeBody is a valid VIEW-CHANGE body for view 1 from conf 0: stable
// checkpoint 2 and prepared certificates for seqs 3 and 4 of view 0.
func (fx *fixture) baseViewChangeBody() spec.ViewChangeBody {
	return spec.ViewChangeBody{
		View: 1, Replica: 0,
		Stable:   fx.checkpointCert(2, digest(2), 0, 1, 2),
		Prepared: []spec.PreparedCert{fx.preparedCert(0, 3, digest(3)), fx.preparedCert(0, 4, digest(4))},
	}
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

// TestNewViewInvalidViewChange covers NV5 for every line of §5.1 (K1–K5, C1–C6,
// V4, V5): a NEW-VIEW carrying a signed VIEW-CHANGE with invalid content is
// rejected with bad-certificate.
func TestNewViewInvalidViewChange(t *testing.T) {
	fx := newFixture(t, 2, 74)
	for _, c := range fx.invalidContents() {
		t.Run(c.name, func(t *testing.T) {
			fx.t = t
			b := fx.baseViewChangeBody()
			c.mut(&b)
			vcs := []spec.ViewChange{fx.signedViewChange(b), fx.viewChange(1, 2, genesis()), fx.viewChange(1, 3, genesis())}
			fx.expectReject(input(spec.KindNewView, ptr(fx.newView(1, vcs, nil))), spec.CodeBadCertificate, 0)
		})
	}
	// The unmutated base is valid: the same NEW-VIEW is accepted.
	fx.t = t
	vcs := []spec.ViewChange{fx.signedViewChange(fx.baseViewChangeBody()), fx.viewChange(1, 2, genesis()), fx.viewChange(1, 3, genesis())}
	fx.mustAccept(input(spec.KindNewView, ptr(fx.newView(1, vcs, nil))))
}
