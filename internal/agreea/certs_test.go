package agreea

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestCertChecker: a certificate failing exactly one rule of SPEC.md §5.1 (K1–K5,
// C1–C6, V1, V3–V6 via ViewChange) is invalid, structurally or at Verify; the valid
// ones pass both.
func TestCertChecker(t *testing.T) {
	const seed = 51
	c := cluster(seed)
	cert := func() spec.CheckpointCert { return c.CheckpointCert(4, st(4), 0, 2, 3) }
	pcert := func() spec.PreparedCert { return c.PreparedCert(1, 5, st(5), 0, 2) }
	vcBody := func() spec.ViewChangeBody { return c.ViewChange(2, 3, cert(), pcert()).Body }
	with := func(k spec.CheckpointCert, f func(*spec.CheckpointCert)) spec.CheckpointCert { f(&k); return k }
	withP := func(p spec.PreparedCert, f func(*spec.PreparedCert)) spec.PreparedCert { f(&p); return p }
	withV := func(b spec.ViewChangeBody, f func(*spec.ViewChangeBody)) spec.ViewChangeBody { f(&b); return b }
	tests := []struct {
		name string
		run  func(cc *CertChecker) bool
		ok   bool
	}{
		{"K genesis", func(cc *CertChecker) bool { return cc.CheckpointCert(&spec.CheckpointCert{}) }, true},
		{"K valid", func(cc *CertChecker) bool { k := cert(); return cc.CheckpointCert(&k) }, true},
		{"K1 genesis with a state", func(cc *CertChecker) bool { return cc.CheckpointCert(&spec.CheckpointCert{State: st(1)}) }, false},
		{"K2 seq not a multiple of K", func(cc *CertChecker) bool {
			k := with(cert(), func(k *spec.CheckpointCert) { k.Seq = 5 })
			return cc.CheckpointCert(&k)
		}, false},
		{"K2 q-1 proofs", func(cc *CertChecker) bool { k := c.CheckpointCert(4, st(4), 0, 2); return cc.CheckpointCert(&k) }, false},
		{"K3 unsorted", func(cc *CertChecker) bool { k := c.CheckpointCert(4, st(4), 0, 3, 2); return cc.CheckpointCert(&k) }, false},
		{"K4 another state", func(cc *CertChecker) bool {
			k := with(cert(), func(k *spec.CheckpointCert) { k.State = st(9) })
			return cc.CheckpointCert(&k)
		}, false},
		{"K5 signature", func(cc *CertChecker) bool {
			k := with(cert(), func(k *spec.CheckpointCert) {
				k.Proof = append([]spec.Checkpoint(nil), k.Proof...)
				k.Proof[2].Sig[1] ^= 1
			})
			return cc.CheckpointCert(&k)
		}, false},
		{"C valid", func(cc *CertChecker) bool { p := pcert(); return cc.PreparedCert(&p) }, true},
		{"C1 header not by the primary", func(cc *CertChecker) bool {
			p := withP(pcert(), func(p *spec.PreparedCert) { p.Header = c.PrePrepareBy(2, 1, 5, st(5)) })
			return cc.PreparedCert(&p)
		}, false},
		{"C2 header signature", func(cc *CertChecker) bool {
			p := withP(pcert(), func(p *spec.PreparedCert) { p.Header.Sig[0] ^= 1 })
			return cc.PreparedCert(&p)
		}, false},
		{"C3 2f-1 prepares", func(cc *CertChecker) bool { p := c.PreparedCert(1, 5, st(5), 0); return cc.PreparedCert(&p) }, false},
		{"C4 the primary prepares", func(cc *CertChecker) bool { p := c.PreparedCert(1, 5, st(5), 0, 1); return cc.PreparedCert(&p) }, false},
		{"C5 another digest", func(cc *CertChecker) bool {
			p := withP(pcert(), func(p *spec.PreparedCert) { p.Prepares = []spec.Prepare{p.Prepares[0], c.Prepare(1, 5, st(6), 2)} })
			return cc.PreparedCert(&p)
		}, false},
		{"C6 prepare signature", func(cc *CertChecker) bool {
			p := withP(pcert(), func(p *spec.PreparedCert) {
				p.Prepares = append([]spec.Prepare(nil), p.Prepares...)
				p.Prepares[1].Sig[0] ^= 1
			})
			return cc.PreparedCert(&p)
		}, false},
		{"V valid", func(cc *CertChecker) bool { vc := c.ViewChange(2, 3, cert(), pcert()); return cc.ViewChange(&vc) }, true},
		{"V1 replica n", func(cc *CertChecker) bool {
			return cc.ViewChange(&spec.ViewChange{Body: spec.ViewChangeBody{View: 2, Replica: 4}})
		}, false},
		{"V2 signature", func(cc *CertChecker) bool {
			vc := c.ViewChange(2, 3, cert())
			vc.Sig[0] ^= 1
			return cc.ViewChange(&vc)
		}, false},
		{"V4 unsorted", func(cc *CertChecker) bool {
			b := withV(vcBody(), func(b *spec.ViewChangeBody) { b.Prepared = append(b.Prepared, c.PreparedCert(1, 5, st(5), 0, 2)) })
			return cc.ViewChangeBody(&b)
		}, false},
		{"V5 seq outside the window", func(cc *CertChecker) bool {
			b := withV(vcBody(), func(b *spec.ViewChangeBody) { b.Prepared = []spec.PreparedCert{c.PreparedCert(1, 13, st(5), 0, 2)} })
			return cc.ViewChangeBody(&b)
		}, false},
		{"V5 view not below", func(cc *CertChecker) bool {
			b := withV(vcBody(), func(b *spec.ViewChangeBody) { b.View = 1 })
			return cc.ViewChangeBody(&b)
		}, false},
	}
	for _, tc := range tests {
		cc := NewCertChecker(c.Config)
		if got := tc.run(cc) && cc.Verify(c.CD, 2); got != tc.ok {
			t.Errorf("seed %d: %s: valid %t, want %t", seed, tc.name, got, tc.ok)
		}
	}
}
