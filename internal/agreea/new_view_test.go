package agreea

import (
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// newViewBody returns the body of a valid NEW-VIEW for view 1 (primary 1): the
// view-changes of confs 0, 2 and 3, conf 2's carrying the stable checkpoint 2 and a
// prepared certificate for seq 3, and O = the PRE-PREPARE for seq 3.
func newViewBody(c *fixture.Cluster) spec.NewViewBody {
	cert := c.CheckpointCert(2, st(2), 0, 1, 2)
	pc := c.PreparedCert(0, 3, st(3), c.Backups(0)...)
	vcs := []spec.ViewChange{c.ViewChange(1, 0, spec.CheckpointCert{}), c.ViewChange(1, 2, cert, pc), c.ViewChange(1, 3, spec.CheckpointCert{})}
	o, _ := c.ComputeO(1, vcs)
	return c.NewView(1, vcs, o).Body
}

// TestCheckNewView: a NEW-VIEW failing exactly one of NV3–NV7 (SPEC.md §8.6) gets that
// line's code; a valid one passes.
func TestCheckNewView(t *testing.T) {
	const seed = 41
	c := cluster(seed)
	edit := func(f func(b *spec.NewViewBody)) spec.NewView {
		b := newViewBody(c)
		f(&b)
		return c.SignNewView(b)
	}
	badSig := c.SignNewView(newViewBody(c))
	badSig.Sig[0] ^= 1
	tests := []struct {
		name string
		nv   spec.NewView
		code uint64
	}{
		{"valid", edit(func(*spec.NewViewBody) {}), 0},
		{"NV3 signature", badSig, spec.CodeBadSignature},
		{"NV4 q-1 view-changes", edit(func(b *spec.NewViewBody) { b.ViewChanges = b.ViewChanges[1:] }), spec.CodeBadCertificate},
		{"NV4 unsorted", edit(func(b *spec.NewViewBody) { b.ViewChanges[0], b.ViewChanges[2] = b.ViewChanges[2], b.ViewChanges[0] }), spec.CodeBadCertificate},
		{"NV4 another view", edit(func(b *spec.NewViewBody) { b.ViewChanges[0] = c.ViewChange(2, 0, spec.CheckpointCert{}) }), spec.CodeBadCertificate},
		{"NV5 view-change signature", edit(func(b *spec.NewViewBody) { b.ViewChanges[1].Sig[9] ^= 1 }), spec.CodeBadCertificate},
		{"NV5 checkpoint proof signature", edit(func(b *spec.NewViewBody) {
			vb := b.ViewChanges[1].Body
			vb.Stable.Proof = append([]spec.Checkpoint(nil), vb.Stable.Proof...)
			vb.Stable.Proof[1].Sig[9] ^= 1
			b.ViewChanges[1] = c.ViewChange(1, 2, vb.Stable, vb.Prepared...)
		}), spec.CodeBadCertificate},
		{"NV6 seq at minS", edit(func(b *spec.NewViewBody) { b.PrePrepares[0] = c.PrePrepareBy(1, 1, 2, st(3)) }), spec.CodeBadNewView},
		{"NV6 another view", edit(func(b *spec.NewViewBody) { b.PrePrepares[0] = c.PrePrepareBy(1, 2, 3, st(3)) }), spec.CodeBadNewView},
		{"NV7 pre-prepare signature", edit(func(b *spec.NewViewBody) { b.PrePrepares[0].Sig[9] ^= 1 }), spec.CodeBadNewView},
	}
	for _, tc := range tests {
		for _, w := range []int{1, 4} {
			if code := CheckNewView(c.Config, c.CD, w, &tc.nv); code != tc.code {
				t.Errorf("seed %d: %s (workers %d): %s, want %s", seed, tc.name, w, spec.CodeName(code), spec.CodeName(tc.code))
			}
		}
	}
}

// TestBestStable: the first VIEW-CHANGE with the highest Stable.Seq (§8.5 step 1).
func TestBestStable(t *testing.T) {
	vc := func(seq uint64) spec.ViewChange {
		return spec.ViewChange{Body: spec.ViewChangeBody{Stable: spec.CheckpointCert{Seq: seq}}}
	}
	tests := []struct {
		seqs []uint64
		want int
	}{
		{nil, 0}, {[]uint64{0, 0, 0}, 0}, {[]uint64{2, 4, 4}, 1}, {[]uint64{6, 4, 6}, 0}, {[]uint64{0, 2, 8}, 2},
	}
	for _, tc := range tests {
		var vcs []spec.ViewChange
		for _, s := range tc.seqs {
			vcs = append(vcs, vc(s))
		}
		if got := BestStable(vcs); got != tc.want {
			t.Errorf("BestStable(%v) = %d, want %d", tc.seqs, got, tc.want)
		}
	}
}
