package agreebtest

import "github.com/splitbft/splitbft/spec"

// Mutation is a named change to a VIEW-CHANGE body.
type Mutation struct {
	Name string
	Mut  func(b *spec.ViewChangeBody)
}

// BaseViewChangeBody is a valid VIEW-CHANGE body for view 1 from conf 0: stable
// checkpoint 2 and prepared certificates for seqs 3 and 4 of view 0.
func (w *World) BaseViewChangeBody() spec.ViewChangeBody {
	return spec.ViewChangeBody{
		View: 1, Replica: 0,
		Stable:   w.CheckpointCert(2, Digest(2), 0, 1, 2),
		Prepared: []spec.PreparedCert{w.PreparedCert(0, 3, Digest(3)), w.PreparedCert(0, 4, Digest(4))},
	}
}

// InvalidContents lists one mutation per line of §5.1 (K1–K5, C1–C6, V4, V5) that
// makes a signed VIEW-CHANGE's content invalid.
func (w *World) InvalidContents() []Mutation {
	return []Mutation{
		{"K1 genesis with state", func(b *spec.ViewChangeBody) { b.Stable = spec.CheckpointCert{State: Digest(1)}; b.Prepared = nil }},
		{"K1 genesis with proof", func(b *spec.ViewChangeBody) {
			b.Stable = spec.CheckpointCert{Proof: []spec.Checkpoint{w.Checkpoint(0, spec.Digest{}, 0)}}
			b.Prepared = nil
		}},
		{"K2 seq not a multiple of K", func(b *spec.ViewChangeBody) { b.Stable = w.CheckpointCert(3, Digest(2), 0, 1, 2); b.Prepared = nil }},
		{"K2 short proof", func(b *spec.ViewChangeBody) { b.Stable.Proof = b.Stable.Proof[:2] }},
		{"K3 proof not increasing", func(b *spec.ViewChangeBody) { b.Stable = w.CheckpointCert(2, Digest(2), 0, 2, 1) }},
		{"K3 proof sender out of range", func(b *spec.ViewChangeBody) {
			b.Stable = w.CheckpointCert(2, Digest(2), 0, 1, 2)
			b.Stable.Proof[2].Body.Replica = N
		}},
		{"K4 proof seq differs", func(b *spec.ViewChangeBody) { b.Stable.Proof[1] = w.Checkpoint(4, Digest(2), 1) }},
		{"K4 proof state differs", func(b *spec.ViewChangeBody) { b.Stable.Proof[1] = w.Checkpoint(2, Digest(7), 1) }},
		{"K5 proof signature", func(b *spec.ViewChangeBody) { b.Stable.Proof[2].Sig[1] ^= 1 }},
		{"V4 too many prepared", func(b *spec.ViewChangeBody) {
			b.Prepared = nil
			for s := uint64(3); s <= 3+L; s++ {
				b.Prepared = append(b.Prepared, w.PreparedCert(0, s, Digest(1)))
			}
		}},
		{"V4 seqs not increasing", func(b *spec.ViewChangeBody) { b.Prepared[0], b.Prepared[1] = b.Prepared[1], b.Prepared[0] }},
		{"V4 seq repeated", func(b *spec.ViewChangeBody) { b.Prepared[1] = w.PreparedCert(0, 3, Digest(5)) }},
		{"V5 seq at stable", func(b *spec.ViewChangeBody) { b.Prepared[0] = w.PreparedCert(0, 2, Digest(3)) }},
		{"V5 seq above window", func(b *spec.ViewChangeBody) { b.Prepared[1] = w.PreparedCert(0, 2+L+1, Digest(3)) }},
		{"V5 view not below", func(b *spec.ViewChangeBody) { b.Prepared[1] = w.PreparedCert(1, 4, Digest(4)) }},
		{"C1 header not from primary", func(b *spec.ViewChangeBody) { b.Prepared[0].Header = w.PrePrepare(0, 3, Digest(3), 1) }},
		{"C2 header signature", func(b *spec.ViewChangeBody) { b.Prepared[0].Header.Sig[2] ^= 1 }},
		{"C3 too few prepares", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares = b.Prepared[0].Prepares[:1] }},
		{"C3 too many prepares", func(b *spec.ViewChangeBody) {
			b.Prepared[0].Prepares = append(b.Prepared[0].Prepares, w.Prepare(0, 3, Digest(3), 3))
		}},
		{"C4 prepares not increasing", func(b *spec.ViewChangeBody) {
			p := b.Prepared[0].Prepares
			p[0], p[1] = p[1], p[0]
		}},
		{"C4 prepare from the primary", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[0] = w.Prepare(0, 3, Digest(3), 0) }},
		{"C4 prepare sender out of range", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1].Body.Replica = N }},
		{"C5 prepare digest differs", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1] = w.Prepare(0, 3, Digest(9), 2) }},
		{"C5 prepare view differs", func(b *spec.ViewChangeBody) { b.Prepared[0].Prepares[1] = w.Prepare(1, 3, Digest(3), 2) }},
		{"C6 prepare signature", func(b *spec.ViewChangeBody) { b.Prepared[1].Prepares[0].Sig[40] ^= 1 }},
	}
}

// NewViewScenario returns the VIEW-CHANGEs of confs 0, 2 and 3 for view 5 (primary
// 1) and the O set §8.5 derives from them: minS = 2 (best is conf 2), maxS = 6;
// seq 3 takes the smallest digest of the highest view (2); 4 and 5 are gaps (null);
// 6 has one certificate. Seq 1 (≤ minS) is ignored.
func (w *World) NewViewScenario() ([]spec.ViewChange, []spec.Slot) {
	dA, dB, dC, dD := Digest(0xa0), Digest(0x10), Digest(0x20), Digest(0xd0)
	vc0 := w.ViewChange(5, 0, Genesis(), w.PreparedCert(0, 1, dA), w.PreparedCert(0, 3, dA))
	vc2 := w.ViewChange(5, 2, w.CheckpointCert(2, Digest(2), 0, 1, 2), w.PreparedCert(2, 3, dC), w.PreparedCert(1, 6, dD))
	vc3 := w.ViewChange(5, 3, Genesis(), w.PreparedCert(2, 3, dB))
	null := spec.NullBatchDigest()
	o := []spec.Slot{
		{View: 5, Seq: 3, Digest: dB, Replica: 1},
		{View: 5, Seq: 4, Digest: null, Replica: 1},
		{View: 5, Seq: 5, Digest: null, Replica: 1},
		{View: 5, Seq: 6, Digest: dD, Replica: 1},
	}
	return []spec.ViewChange{vc0, vc2, vc3}, o
}
