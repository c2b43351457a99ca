package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// expectedCommit builds the COMMIT output the conf under test must emit.
func (fx *fixture) expectedCommit(v, s uint64, d spec.Digest) spec.Output {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: fx.Me}
	return agreebtest.Output(spec.KindCommit, spec.ToExec, &spec.Commit{Body: body, Sig: fx.Sign(fx.Confs[fx.Me], spec.DomainCommit, &body)})
}

// prepareSlot delivers the PRE-PREPARE and PREPAREs of replicas rs for (v, s, d).
func (fx *fixture) prepareSlot(v, s uint64, d spec.Digest, rs ...uint64) []spec.Output {
	fx.T.Helper()
	outs := fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(v, s, d, v%agreebtest.N))))
	for _, r := range rs {
		outs = append(outs, fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(v, s, d, r))))...)
	}
	return outs
}

// TestCommitFormed checks §10.3's happy path byte for byte over several slots, in
// both arrival orders, and that a committed slot never commits again.
func TestCommitFormed(t *testing.T) {
	fx := newFixture(t, 2, 31)
	for s := uint64(1); s <= agreebtest.L; s++ {
		d := agreebtest.Digest(byte(s))
		if s%2 == 1 {
			fx.ExpectOutputs(fx.prepareSlot(0, s, d, 1, 3), []spec.Output{fx.expectedCommit(0, s, d)})
		} else { // PREPAREs first, then the PRE-PREPARE
			fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, s, d, 3))))
			fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, s, d, 2))))
			outs := fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, s, d, 0))))
			fx.ExpectOutputs(outs, []spec.Output{fx.expectedCommit(0, s, d)})
		}
		if st := fx.Status(); st.Last != s {
			t.Fatalf("seed %d: Last = %d, want %d", fx.Seed, st.Last, s)
		}
	}
	// A third PREPARE after the commit is stored but produces nothing.
	if outs := fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 1, agreebtest.Digest(1), 2)))); len(outs) != 0 {
		t.Fatalf("seed %d: second commit: %s", fx.Seed, agreebtest.Describe(outs))
	}
}

// TestCommitNeedsMatchingDigests checks that PREPAREs for another digest do not
// count, and that the certificate takes the matching PREPAREs of the lowest ids.
func TestCommitNeedsMatchingDigests(t *testing.T) {
	fx := newFixture(t, 2, 32)
	d, other := agreebtest.Digest(1), agreebtest.Digest(2)
	fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 1, other, 1))))
	fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 1, d, 3))))
	if outs := fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 1, d, 0)))); len(outs) != 0 {
		t.Fatalf("seed %d: committed with one matching PREPARE", fx.Seed)
	}
	fx.ExpectOutputs(fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 1, d, 2)))), []spec.Output{fx.expectedCommit(0, 1, d)})
	// Slot 2: three matching PREPAREs before the PRE-PREPARE; the certificate takes 1 and 2.
	for _, r := range []uint64{3, 2, 1} {
		fx.MustAccept(agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(0, 2, d, r))))
	}
	fx.MustAccept(agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(0, 2, d, 0))))
	want := spec.PreparedCert{Header: fx.PrePrepare(0, 2, d, 0), Prepares: []spec.Prepare{fx.Prepare(0, 2, d, 1), fx.Prepare(0, 2, d, 2)}}
	if !strings.Contains(fx.P.DebugState(), "pset seq=2 cert="+hexOf(spec.Encode(&want))) {
		t.Fatalf("seed %d: certificate for seq 2 is not PRE-PREPARE + PREPAREs 1, 2:\n%s", fx.Seed, fx.P.DebugState())
	}
}

// TestSlotRules covers Q1–Q8 for PRE-PREPARE and PREPARE, each failing alone.
func TestSlotRules(t *testing.T) {
	type setup func(fx *fixture) spec.Input
	pp := func(fx *fixture, v, s uint64, d spec.Digest, r uint64) spec.Input {
		return agreebtest.Input(spec.KindPrePrepare, agreebtest.Ptr(fx.PrePrepare(v, s, d, r)))
	}
	pr := func(fx *fixture, v, s uint64, d spec.Digest, r uint64) spec.Input {
		return agreebtest.Input(spec.KindPrepare, agreebtest.Ptr(fx.Prepare(v, s, d, r)))
	}
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"Q1 prepare unknown sender", func(fx *fixture) spec.Input { return pr(fx, 0, 1, agreebtest.Digest(1), agreebtest.N) }, spec.CodeUnknownSender},
		{"Q1 pre-prepare unknown sender", func(fx *fixture) spec.Input { return pp(fx, 0, 1, agreebtest.Digest(1), agreebtest.N) }, spec.CodeUnknownSender},
		{"Q2 stale view", func(fx *fixture) spec.Input {
			fx.suspect(0)
			return pr(fx, 0, 1, agreebtest.Digest(1), 1)
		}, spec.CodeStale},
		{"Q2 wrong view", func(fx *fixture) spec.Input { return pp(fx, 1, 1, agreebtest.Digest(1), 1) }, spec.CodeWrongView},
		{"Q3 view changing", func(fx *fixture) spec.Input {
			fx.suspect(0)
			return pp(fx, 1, 1, agreebtest.Digest(1), 1)
		}, spec.CodeViewChanging},
		{"Q4 pre-prepare from a backup", func(fx *fixture) spec.Input { return pp(fx, 0, 1, agreebtest.Digest(1), 1) }, spec.CodeNotPrimary},
		{"Q4 prepare from the primary", func(fx *fixture) spec.Input { return pr(fx, 0, 1, agreebtest.Digest(1), 0) }, spec.CodeNotPrimary},
		{"Q5 seq 0", func(fx *fixture) spec.Input { return pr(fx, 0, 0, agreebtest.Digest(1), 1) }, spec.CodeStale},
		{"Q5 seq at h", func(fx *fixture) spec.Input {
			fx.MakeStable(2)
			return pp(fx, 0, 2, agreebtest.Digest(1), 0)
		}, spec.CodeStale},
		{"Q5 out of window", func(fx *fixture) spec.Input { return pp(fx, 0, agreebtest.L+1, agreebtest.Digest(1), 0) }, spec.CodeOutOfWindow},
		{"Q6 prepare bad signature", func(fx *fixture) spec.Input {
			m := fx.Prepare(0, 1, agreebtest.Digest(1), 1)
			m.Sig[7] ^= 1
			return agreebtest.Input(spec.KindPrepare, &m)
		}, spec.CodeBadSignature},
		{"Q6 pre-prepare signed as prepare", func(fx *fixture) spec.Input {
			m := fx.PrePrepare(0, 1, agreebtest.Digest(1), 0)
			m.Sig = fx.Prepare(0, 1, agreebtest.Digest(1), 0).Sig
			return agreebtest.Input(spec.KindPrePrepare, &m)
		}, spec.CodeBadSignature},
		{"Q7 pre-prepare conflict", func(fx *fixture) spec.Input {
			fx.MustAccept(pp(fx, 0, 1, agreebtest.Digest(1), 0))
			return pp(fx, 0, 1, agreebtest.Digest(2), 0)
		}, spec.CodeConflict},
		{"Q7 prepare conflict", func(fx *fixture) spec.Input {
			fx.MustAccept(pr(fx, 0, 1, agreebtest.Digest(1), 3))
			return pr(fx, 0, 1, agreebtest.Digest(2), 3)
		}, spec.CodeConflict},
		{"Q8 pre-prepare duplicate", func(fx *fixture) spec.Input {
			fx.MustAccept(pp(fx, 0, 1, agreebtest.Digest(1), 0))
			return pp(fx, 0, 1, agreebtest.Digest(1), 0)
		}, spec.CodeDuplicate},
		{"Q8 prepare duplicate", func(fx *fixture) spec.Input {
			fx.MustAccept(pr(fx, 0, 1, agreebtest.Digest(1), 3))
			return pr(fx, 0, 1, agreebtest.Digest(1), 3)
		}, spec.CodeDuplicate},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(300+i))
			in := c.setup(fx)
			fx.ExpectReject(in, c.code, 0)
		})
	}
}

// suspect delivers suspect{v} and returns its outputs.
func (fx *fixture) suspect(v uint64) []spec.Output {
	fx.T.Helper()
	return fx.MustAccept(agreebtest.Input(spec.KindSuspect, &spec.Suspect{View: v}))
}

// hexOf renders b as lower-case hex.
func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
