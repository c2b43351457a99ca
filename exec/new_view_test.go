package exec_test

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// checkpointCert returns a certificate for (seq, state) by execs 0..q−1, signed with
// their re-derived keys.
func (c *cluster) checkpointCert(seq uint64, state spec.Digest) spec.CheckpointCert {
	cert := spec.CheckpointCert{Seq: seq, State: state}
	for r := uint64(0); r < 2*c.p.f+1; r++ {
		cert.Proof = append(cert.Proof, c.checkpointMsg(r, seq, state))
	}
	return cert
}

// preparedCert returns a prepared certificate for (view, seq, d): the PRE-PREPARE of
// primary(view) and the PREPAREs of the 2f lowest other preps.
func (c *cluster) preparedCert(view, seq uint64, d spec.Digest) spec.PreparedCert {
	p := view % c.n
	h := spec.Slot{View: view, Seq: seq, Digest: d, Replica: p}
	pc := spec.PreparedCert{Header: spec.PrePrepare{Body: h, Sig: c.sign(c.prep[p], "splitbft/v1/pre-prepare", &h)}}
	for r := uint64(0); uint64(len(pc.Prepares)) < 2*c.p.f; r++ {
		if r == p {
			continue
		}
		s := spec.Slot{View: view, Seq: seq, Digest: d, Replica: r}
		pc.Prepares = append(pc.Prepares, spec.Prepare{Body: s, Sig: c.sign(c.prep[r], "splitbft/v1/prepare", &s)})
	}
	return pc
}

// signVC (re)signs a VIEW-CHANGE with its sender's conf key.
func (c *cluster) signVC(vc *spec.ViewChange) {
	vc.Sig = c.sign(c.conf[vc.Body.Replica%c.n], "splitbft/v1/view-change", &vc.Body)
}

// prePrepare returns the signed O entry (w, seq, d) of primary(w).
func (c *cluster) prePrepare(w, seq uint64, d spec.Digest) spec.PrePrepare {
	s := spec.Slot{View: w, Seq: seq, Digest: d, Replica: w % c.n}
	return spec.PrePrepare{Body: s, Sig: c.sign(c.prep[w%c.n], "splitbft/v1/pre-prepare", &s)}
}

// newViewBody returns a valid NEW-VIEW body for view w: VIEW-CHANGEs of confs 0..q−1
// with genesis checkpoints (conf 1's carries stable instead, if non-nil, and a prepared
// certificate for the seq after it), and O = that seq and one null entry.
func (c *cluster) newViewBody(w uint64, stable *spec.CheckpointCert) spec.NewViewBody {
	b := spec.NewViewBody{View: w, Replica: w % c.n}
	minS := uint64(0)
	for r := uint64(0); r < 2*c.p.f+1; r++ {
		vc := spec.ViewChange{Body: spec.ViewChangeBody{View: w, Replica: r}}
		if r == 1 && stable != nil {
			vc.Body.Stable = *stable
			vc.Body.Stable.Proof = append([]spec.Checkpoint(nil), stable.Proof...) // cases mutate it
			minS = stable.Seq
			vc.Body.Prepared = []spec.PreparedCert{c.preparedCert(w-1, minS+1, spec.Digest{0xdd})}
		}
		c.signVC(&vc)
		b.ViewChanges = append(b.ViewChanges, vc)
	}
	b.PrePrepares = []spec.PrePrepare{c.prePrepare(w, minS+1, spec.Digest{0xdd}), c.prePrepare(w, minS+2, spec.NullBatchDigest())}
	return b
}

// newViewInput signs body with key index signer's prep key (normally body.Replica).
func (c *cluster) newViewInput(body spec.NewViewBody, signer uint64) spec.Input {
	return in(spec.KindNewView, &spec.NewView{Body: body, Sig: c.sign(c.prep[signer%c.n], "splitbft/v1/new-view", &body)})
}

// TestNewViewAccept checks that an accepted NEW-VIEW sets the view used in replies and
// adopts a higher checkpoint (making a behind exec want state).
func TestNewViewAccept(t *testing.T) {
	c := newCluster(t, 51, defaultParams())
	a := c.clients[0]
	outs := expectAccept(t, c.execs[1], c.newViewInput(c.newViewBody(5, nil), 1))
	if st := status(t, outs); st.View != 5 || st.Stable != 0 {
		t.Fatalf("status %+v", st)
	}
	c.checkReplies(t, c.order(1, 1, c.kvRequest(a, put("k", "v"))), 1, 5, wantResult{a.id, 1, 0, ""})
	expectReject(t, c.execs[1], c.newViewInput(c.newViewBody(5, nil), 1), spec.CodeStale)
	expectReject(t, c.execs[1], c.newViewInput(c.newViewBody(4, nil), 0), spec.CodeStale)
	cert := c.checkpointCert(20, spec.Digest{0x42})
	outs = expectAccept(t, c.execs[2], c.newViewInput(c.newViewBody(2, &cert), 2))
	if st := status(t, outs); st.View != 2 || st.Stable != 20 || !st.NeedState || st.Last != 0 {
		t.Fatalf("status after adoption %+v", st)
	}
	// A NEW-VIEW whose checkpoint is not higher than h leaves h.
	low := c.checkpointCert(10, spec.Digest{0x41})
	outs = expectAccept(t, c.execs[2], c.newViewInput(c.newViewBody(3, &low), 3))
	if st := status(t, outs); st.View != 3 || st.Stable != 20 {
		t.Fatalf("status after lower checkpoint %+v", st)
	}
}

// TestNewViewRules checks NV1–NV7 and N3 at exec, each failing exactly its line.
func TestNewViewRules(t *testing.T) {
	c := newCluster(t, 52, defaultParams())
	x := c.execs[0]
	cert := c.checkpointCert(10, spec.Digest{0x42})
	const w = 5 // primary 1
	base := func() spec.NewViewBody { return c.newViewBody(w, &cert) }
	signed := func(mod func(b *spec.NewViewBody)) spec.Input {
		b := base()
		mod(&b)
		return c.newViewInput(b, b.Replica)
	}
	// vcMod changes VIEW-CHANGE i and re-signs it.
	vcMod := func(i int, mod func(vc *spec.ViewChange)) spec.Input {
		return signed(func(b *spec.NewViewBody) { mod(&b.ViewChanges[i]); c.signVC(&b.ViewChanges[i]) })
	}
	certMod := func(mod func(k *spec.CheckpointCert)) spec.Input {
		return vcMod(1, func(vc *spec.ViewChange) { mod(&vc.Body.Stable) })
	}
	pcMod := func(mod func(p *spec.PreparedCert)) spec.Input {
		return vcMod(1, func(vc *spec.ViewChange) { mod(&vc.Body.Prepared[0]) })
	}
	oMod := func(mod func(o []spec.PrePrepare) []spec.PrePrepare) spec.Input {
		return signed(func(b *spec.NewViewBody) { b.PrePrepares = mod(b.PrePrepares) })
	}
	other := c.checkpointMsg(3, 10, spec.Digest{0x42})
	cases := []struct {
		name  string
		input spec.Input
		code  uint64
	}{
		{"NV1 replica n", signed(func(b *spec.NewViewBody) { b.Replica = 4 + w%4 }), spec.CodeUnknownSender},
		{"NV2 not primary", signed(func(b *spec.NewViewBody) { b.Replica = 2 }), spec.CodeNotPrimary},
		{"N3 view 0", func() spec.Input { b := c.newViewBody(0, nil); return c.newViewInput(b, 0) }(), spec.CodeStale},
		{"NV3 wrong key", func() spec.Input { return c.newViewInput(base(), 2) }(), spec.CodeBadSignature},
		{"NV4 too few", signed(func(b *spec.NewViewBody) { b.ViewChanges = b.ViewChanges[:2] }), spec.CodeBadCertificate},
		{"NV4 too many", signed(func(b *spec.NewViewBody) {
			vc := spec.ViewChange{Body: spec.ViewChangeBody{View: w, Replica: 3}}
			c.signVC(&vc)
			b.ViewChanges = append(b.ViewChanges, vc)
		}), spec.CodeBadCertificate},
		{"NV4 order", signed(func(b *spec.NewViewBody) { b.ViewChanges[0], b.ViewChanges[2] = b.ViewChanges[2], b.ViewChanges[0] }), spec.CodeBadCertificate},
		{"NV4 repeated sender", signed(func(b *spec.NewViewBody) { b.ViewChanges[2] = b.ViewChanges[1] }), spec.CodeBadCertificate},
		{"NV4 view", vcMod(0, func(vc *spec.ViewChange) { vc.Body.View = w + 1 }), spec.CodeBadCertificate},
		{"V1 replica n", vcMod(2, func(vc *spec.ViewChange) { vc.Body.Replica = 4 }), spec.CodeBadCertificate},
		{"V2 signature", signed(func(b *spec.NewViewBody) { b.ViewChanges[0].Sig[5] ^= 1 }), spec.CodeBadCertificate},
		{"K1 genesis state", vcMod(0, func(vc *spec.ViewChange) { vc.Body.Stable.State = spec.Digest{1} }), spec.CodeBadCertificate},
		{"K1 genesis proof", vcMod(0, func(vc *spec.ViewChange) { vc.Body.Stable.Proof = cert.Proof[:1] }), spec.CodeBadCertificate},
		{"K2 proof count", certMod(func(k *spec.CheckpointCert) { k.Proof = k.Proof[:2] }), spec.CodeBadCertificate},
		{"K2 seq not multiple", certMod(func(k *spec.CheckpointCert) { k.Seq = 15 }), spec.CodeBadCertificate},
		{"K3 order", certMod(func(k *spec.CheckpointCert) { k.Proof[0], k.Proof[1] = k.Proof[1], k.Proof[0] }), spec.CodeBadCertificate},
		{"K4 state", certMod(func(k *spec.CheckpointCert) { k.Proof[2] = c.checkpointMsg(2, 10, spec.Digest{9}) }), spec.CodeBadCertificate},
		{"K5 signature", certMod(func(k *spec.CheckpointCert) { k.Proof[2] = other; k.Proof[2].Body.Replica = 2 }), spec.CodeBadCertificate},
		{"V4 order", vcMod(1, func(vc *spec.ViewChange) {
			vc.Body.Prepared = []spec.PreparedCert{c.preparedCert(w-1, 12, spec.Digest{1}), c.preparedCert(w-1, 11, spec.Digest{1})}
		}), spec.CodeBadCertificate},
		{"V4 too many", vcMod(1, func(vc *spec.ViewChange) {
			for len(vc.Body.Prepared) <= int(c.p.l) {
				vc.Body.Prepared = append(vc.Body.Prepared, vc.Body.Prepared[0])
			}
		}), spec.CodeBadCertificate},
		{"V5 seq at stable", pcMod(func(p *spec.PreparedCert) { *p = c.preparedCert(w-1, 10, spec.Digest{1}) }), spec.CodeBadCertificate},
		{"V5 seq above window", pcMod(func(p *spec.PreparedCert) { *p = c.preparedCert(w-1, 51, spec.Digest{1}) }), spec.CodeBadCertificate},
		{"V5 view", pcMod(func(p *spec.PreparedCert) { *p = c.preparedCert(w, 11, spec.Digest{1}) }), spec.CodeBadCertificate},
		{"C1 header not primary", pcMod(func(p *spec.PreparedCert) {
			p.Header.Body.Replica = 1
			p.Header.Sig = c.sign(c.prep[1], "splitbft/v1/pre-prepare", &p.Header.Body)
		}), spec.CodeBadCertificate},
		{"C2 header signature", pcMod(func(p *spec.PreparedCert) { p.Header.Sig[0] ^= 1 }), spec.CodeBadCertificate},
		{"C3 prepare count", pcMod(func(p *spec.PreparedCert) { p.Prepares = p.Prepares[:1] }), spec.CodeBadCertificate},
		{"C4 primary prepares", pcMod(func(p *spec.PreparedCert) {
			s := p.Header.Body
			p.Prepares[0] = spec.Prepare{Body: s, Sig: c.sign(c.prep[s.Replica], "splitbft/v1/prepare", &s)}
		}), spec.CodeBadCertificate},
		{"C4 order", pcMod(func(p *spec.PreparedCert) { p.Prepares[0], p.Prepares[1] = p.Prepares[1], p.Prepares[0] }), spec.CodeBadCertificate},
		{"C5 digest", pcMod(func(p *spec.PreparedCert) {
			s := p.Prepares[1].Body
			s.Digest = spec.Digest{2}
			p.Prepares[1] = spec.Prepare{Body: s, Sig: c.sign(c.prep[s.Replica], "splitbft/v1/prepare", &s)}
		}), spec.CodeBadCertificate},
		{"C6 prepare signature", pcMod(func(p *spec.PreparedCert) { p.Prepares[1].Sig[9] ^= 1 }), spec.CodeBadCertificate},
		{"NV6 too many", oMod(func([]spec.PrePrepare) []spec.PrePrepare {
			var o []spec.PrePrepare
			for s := uint64(11); s <= 11+c.p.l; s++ {
				o = append(o, c.prePrepare(w, s, spec.Digest{1}))
			}
			return o
		}), spec.CodeBadNewView},
		{"NV6 view", oMod(func(o []spec.PrePrepare) []spec.PrePrepare {
			o[1] = c.prePrepare(w, 12, spec.Digest{1})
			o[1].Body.View = w + 1
			o[1].Sig = c.sign(c.prep[1], "splitbft/v1/pre-prepare", &o[1].Body)
			return o
		}), spec.CodeBadNewView},
		{"NV6 replica", oMod(func(o []spec.PrePrepare) []spec.PrePrepare {
			o[0].Body.Replica = 2
			o[0].Sig = c.sign(c.prep[2], "splitbft/v1/pre-prepare", &o[0].Body)
			return o
		}), spec.CodeBadNewView},
		{"NV6 seq at minS", oMod(func(o []spec.PrePrepare) []spec.PrePrepare {
			return append([]spec.PrePrepare{c.prePrepare(w, 10, spec.Digest{})}, o...)
		}), spec.CodeBadNewView},
		{"NV6 seq above window", oMod(func(o []spec.PrePrepare) []spec.PrePrepare { return append(o, c.prePrepare(w, 51, spec.Digest{})) }), spec.CodeBadNewView},
		{"NV6 order", oMod(func(o []spec.PrePrepare) []spec.PrePrepare { o[0], o[1] = o[1], o[0]; return o }), spec.CodeBadNewView},
		{"NV7 signature", oMod(func(o []spec.PrePrepare) []spec.PrePrepare { o[1].Sig[1] ^= 1; return o }), spec.CodeBadNewView},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, tc.input, tc.code) })
	}
	// The unmodified NEW-VIEW is accepted (so each case failed only its own line), and
	// the highest checkpoint (conf 1's, not the lowest id's) is adopted.
	outs := expectAccept(t, x, signed(func(*spec.NewViewBody) {}))
	if st := status(t, outs); st.View != w || st.Stable != 10 || !st.NeedState {
		t.Fatalf("status %+v", st)
	}
	// O may be empty; the view must still increase.
	expectReject(t, x, signed(func(b *spec.NewViewBody) { b.PrePrepares = nil }), spec.CodeStale)
}
