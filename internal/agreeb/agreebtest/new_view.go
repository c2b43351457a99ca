package agreebtest

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// NewViewCase is a NEW-VIEW built from NewViewScenario (its VIEW-CHANGEs vcs and O
// entries o, both free to modify) that fails exactly one line with Code.
type NewViewCase struct {
	Name string
	Mut  func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView
	Code uint64
}

// resign re-signs nv as the prep of its (possibly out of range) sender.
func (w *World) resign(nv spec.NewView) spec.NewView {
	nv.Sig = w.Sign(w.Preps[nv.Body.Replica%N], spec.DomainNewView, &nv.Body)
	return nv
}

// NewViewSenderCases are the sender and view lines every NEW-VIEW handler checks
// first, for a compartment of replica 2 in view 0, named with the compartment's
// line prefix p ("W" at prep, "N" at conf): p1 unknown sender (NV1), p2 not
// primary (NV2), p3 stale.
func NewViewSenderCases(p string) []NewViewCase {
	return []NewViewCase{
		{p + "1 unknown sender", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := w.NewView(5, vcs, o)
			nv.Body.Replica = 5
			return w.resign(nv)
		}, spec.CodeUnknownSender},
		{p + "2 not primary", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := w.NewView(5, vcs, o)
			nv.Body.Replica = 3
			return w.resign(nv)
		}, spec.CodeNotPrimary},
		{p + "3 stale", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return w.NewView(0, []spec.ViewChange{w.ViewChange(0, 0, Genesis()), w.ViewChange(0, 1, Genesis()), w.ViewChange(0, 3, Genesis())}, nil)
		}, spec.CodeStale},
	}
}

// NewViewCheckCases fail each line NV3–NV7 of §8.6 (NV5 for V1, V2, V3 and V6).
func NewViewCheckCases() []NewViewCase {
	return []NewViewCase{
		{"NV3 bad signature", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := w.NewView(5, vcs, o)
			nv.Sig[9] ^= 1
			return nv
		}, spec.CodeBadSignature},
		{"NV4 too few view changes", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return w.NewView(5, vcs[1:], o)
		}, spec.CodeBadCertificate},
		{"NV4 senders not increasing", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return w.NewView(5, []spec.ViewChange{vcs[1], vcs[0], vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV4 view change for another view", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return w.NewView(5, []spec.ViewChange{vcs[0], vcs[1], w.ViewChange(4, 3, Genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V1 sender out of range", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			return w.NewView(5, []spec.ViewChange{vcs[0], vcs[1], w.ViewChange(5, N, Genesis())}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V2 view change signature", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			vcs[2].Sig[3] ^= 1
			return w.NewView(5, vcs, o)
		}, spec.CodeBadCertificate},
		{"NV5 V3 stable certificate", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[1].Body
			b.Stable.Proof = b.Stable.Proof[:2]
			return w.NewView(5, []spec.ViewChange{vcs[0], w.SignedViewChange(b), vcs[2]}, o)
		}, spec.CodeBadCertificate},
		{"NV5 V6 prepared certificate", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			b := vcs[2].Body
			b.Prepared = []spec.PreparedCert{w.PreparedCert(2, 3, Digest(0x10))}
			b.Prepared[0].Prepares[0].Sig[0] ^= 1
			return w.NewView(5, []spec.ViewChange{vcs[0], vcs[1], w.SignedViewChange(b)}, o)
		}, spec.CodeBadCertificate},
		{"NV6 too many entries", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append(o, spec.Slot{View: 5, Seq: 7, Replica: 1})
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry for another view", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1].View = 4
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 entry from another replica", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[0].Replica = 2
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seqs not increasing", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[1], o[2] = o[2], o[1]
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq at minS", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o = append([]spec.Slot{{View: 5, Seq: 2, Replica: 1}}, o[:3]...)
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV6 seq above minS+L", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			o[3].Seq = 2 + L + 1
			return w.NewView(5, vcs, o)
		}, spec.CodeBadNewView},
		{"NV7 entry signature", func(w *World, vcs []spec.ViewChange, o []spec.Slot) spec.NewView {
			nv := w.NewView(5, vcs, o)
			nv.Body.PrePrepares[2].Sig[0] ^= 1
			return w.resign(nv)
		}, spec.CodeBadNewView},
	}
}

// RunNewViewCases checks that each case, at a configured compartment of replica 2
// seeded 700 + its index, is rejected with its code and changes no state.
func RunNewViewCases(t *testing.T, s *Setup, cases []NewViewCase) {
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			fx := NewConfigured(t, s, 2, int64(700+i))
			vcs, o := fx.NewViewScenario()
			nv := c.Mut(fx, vcs, o)
			fx.ExpectReject(Input(spec.KindNewView, &nv), c.Code, 0)
		})
	}
}

// RunNewViewInvalidViewChange covers NV5 for every line of §5.1 (K1–K5, C1–C6,
// V4, V5): a NEW-VIEW carrying a signed VIEW-CHANGE with invalid content is
// rejected with bad-certificate, and the unmutated NEW-VIEW is accepted.
func RunNewViewInvalidViewChange(t *testing.T, s *Setup) {
	fx := NewConfigured(t, s, 2, 74)
	for _, c := range fx.InvalidContents() {
		t.Run(c.Name, func(t *testing.T) {
			fx.T = t
			b := fx.BaseViewChangeBody()
			c.Mut(&b)
			vcs := []spec.ViewChange{fx.SignedViewChange(b), fx.ViewChange(1, 2, Genesis()), fx.ViewChange(1, 3, Genesis())}
			fx.ExpectReject(Input(spec.KindNewView, Ptr(fx.NewView(1, vcs, nil))), spec.CodeBadCertificate, 0)
		})
	}
	fx.T = t
	vcs := []spec.ViewChange{fx.SignedViewChange(fx.BaseViewChangeBody()), fx.ViewChange(1, 2, Genesis()), fx.ViewChange(1, 3, Genesis())}
	fx.MustAccept(Input(spec.KindNewView, Ptr(fx.NewView(1, vcs, nil))))
}
