package confb

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func ptr[T any](v T) *T { return &v }

// expectedCommit builds the COMMIT output the conf under test must emit.
func (fx *fixture) expectedCommit(v, s uint64, d spec.Digest) spec.Output {
	body := spec.Slot{View: v, Seq: s, Digest: d, Replica: fx.me}
	return output(spec.KindCommit, spec.ToExec, &spec.Commit{Body: body, Sig: fx.sign(fx.confs[fx.me], spec.DomainCommit, &body)})
}

// prepareSlot delivers the PRE-PREPARE and PREPAREs of replicas rs for (v, s, d).
func (fx *fixture) prepareSlot(v, s uint64, d spec.Digest, rs ...uint64) []spec.Output {
	fx.t.Helper()
	outs := fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(v, s, d, v%testN))))
	for _, r := range rs {
		outs = append(outs, fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(v, s, d, r))))...)
	}
	return outs
}

// TestCommitFormed checks §10.3's happy path byte for byte over several slots, in
// both arrival orders, and that a committed slot never commits again.
func TestCommitFormed(t *testing.T) {
	fx := newFixture(t, 2, 31)
	for s := uint64(1); s <= testL; s++ {
		d := digest(byte(s))
		if s%2 == 1 {
			fx.expectOutputs(fx.prepareSlot(0, s, d, 1, 3), []spec.Output{fx.expectedCommit(0, s, d)})
		} else { // PREPAREs first, then the PRE-PREPARE
			fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, s, d, 3))))
			fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, s, d, 2))))
			outs := fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(0, s, d, 0))))
			fx.expectOutputs(outs, []spec.Output{fx.expectedCommit(0, s, d)})
		}
		if st := fx.status(); st.Last != s {
			t.Fatalf("seed %d: Last = %d, want %d", fx.seed, st.Last, s)
		}
	}
	// A third PREPARE after the commit is stored but produces nothing.
	if outs := fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, 1, digest(1), 2)))); len(outs) != 0 {
		t.Fatalf("seed %d: second commit: %s", fx.seed, describe(outs))
	}
}

// TestCommitNeedsMatchingDigests checks that PREPAREs for another digest do not
// count, and that the certificate takes the matching PREPAREs of the lowest ids.
func TestCommitNeedsMatchingDigests(t *testing.T) {
	fx := newFixture(t, 2, 32)
	d, other := digest(1), digest(2)
	fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, 1, other, 1))))
	fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, 1, d, 3))))
	if outs := fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(0, 1, d, 0)))); len(outs) != 0 {
		t.Fatalf("seed %d: committed with one matching PREPARE", fx.seed)
	}
	fx.expectOutputs(fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, 1, d, 2)))), []spec.Output{fx.expectedCommit(0, 1, d)})
	// Slot 2: three matching PREPAREs before the PRE-PREPARE; the certificate takes 1 and 2.
	for _, r := range []uint64{3, 2, 1} {
		fx.mustAccept(input(spec.KindPrepare, ptr(fx.prepare(0, 2, d, r))))
	}
	fx.mustAccept(input(spec.KindPrePrepare, ptr(fx.prePrepare(0, 2, d, 0))))
	want := spec.PreparedCert{Header: fx.prePrepare(0, 2, d, 0), Prepares: []spec.Prepare{fx.prepare(0, 2, d, 1), fx.prepare(0, 2, d, 2)}}
	if !strings.Contains(fx.p.DebugState(), "pset seq=2 cert="+hexOf(spec.Encode(&want))) {
		t.Fatalf("seed %d: certificate for seq 2 is not PRE-PREPARE + PREPAREs 1, 2:\n%s", fx.seed, fx.p.DebugState())
	}
}

// TestSlotRules covers Q1–Q8 for PRE-PREPARE and PREPARE, each failing alone.
func TestSlotRules(t *testing.T) {
	type setup func(fx *fixture) spec.Input
	pp := func(fx *fixture, v, s uint64, d spec.Digest, r uint64) spec.Input {
		return input(spec.KindPrePrepare, ptr(fx.prePrepare(v, s, d, r)))
	}
	pr := func(fx *fixture, v, s uint64, d spec.Digest, r uint64) spec.Input {
		return input(spec.KindPrepare, ptr(fx.prepare(v, s, d, r)))
	}
	cases := []struct {
		name  string
		setup setup
		code  uint64
	}{
		{"Q1 prepare unknown sender", func(fx *fixture) spec.Input { return pr(fx, 0, 1, digest(1), testN) }, spec.CodeUnknownSender},
		{"Q1 pre-prepare unknown sender", func(fx *fixture) spec.Input { return pp(fx, 0, 1, digest(1), testN) }, spec.CodeUnknownSender},
		{"Q2 stale view", func(fx *fixture) spec.Input {
			fx.suspect(0)
			return pr(fx, 0, 1, digest(1), 1)
		}, spec.CodeStale},
		{"Q2 wrong view", func(fx *fixture) spec.Input { return pp(fx, 1, 1, digest(1), 1) }, spec.CodeWrongView},
		{"Q3 view changing", func(fx *fixture) spec.Input {
			fx.suspect(0)
			return pp(fx, 1, 1, digest(1), 1)
		}, spec.CodeViewChanging},
		{"Q4 pre-prepare from a backup", func(fx *fixture) spec.Input { return pp(fx, 0, 1, digest(1), 1) }, spec.CodeNotPrimary},
		{"Q4 prepare from the primary", func(fx *fixture) spec.Input { return pr(fx, 0, 1, digest(1), 0) }, spec.CodeNotPrimary},
		{"Q5 seq 0", func(fx *fixture) spec.Input { return pr(fx, 0, 0, digest(1), 1) }, spec.CodeStale},
		{"Q5 seq at h", func(fx *fixture) spec.Input {
			fx.makeStable(2)
			return pp(fx, 0, 2, digest(1), 0)
		}, spec.CodeStale},
		{"Q5 out of window", func(fx *fixture) spec.Input { return pp(fx, 0, testL+1, digest(1), 0) }, spec.CodeOutOfWindow},
		{"Q6 prepare bad signature", func(fx *fixture) spec.Input {
			m := fx.prepare(0, 1, digest(1), 1)
			m.Sig[7] ^= 1
			return input(spec.KindPrepare, &m)
		}, spec.CodeBadSignature},
		{"Q6 pre-prepare signed as prepare", func(fx *fixture) spec.Input {
			m := fx.prePrepare(0, 1, digest(1), 0)
			m.Sig = fx.prepare(0, 1, digest(1), 0).Sig
			return input(spec.KindPrePrepare, &m)
		}, spec.CodeBadSignature},
		{"Q7 pre-prepare conflict", func(fx *fixture) spec.Input {
			fx.mustAccept(pp(fx, 0, 1, digest(1), 0))
			return pp(fx, 0, 1, digest(2), 0)
		}, spec.CodeConflict},
		{"Q7 prepare conflict", func(fx *fixture) spec.Input {
			fx.mustAccept(pr(fx, 0, 1, digest(1), 3))
			return pr(fx, 0, 1, digest(2), 3)
		}, spec.CodeConflict},
		{"Q8 pre-prepare duplicate", func(fx *fixture) spec.Input {
			fx.mustAccept(pp(fx, 0, 1, digest(1), 0))
			return pp(fx, 0, 1, digest(1), 0)
		}, spec.CodeDuplicate},
		{"Q8 prepare duplicate", func(fx *fixture) spec.Input {
			fx.mustAccept(pr(fx, 0, 1, digest(1), 3))
			return pr(fx, 0, 1, digest(1), 3)
		}, spec.CodeDuplicate},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 2, int64(300+i))
			in := c.setup(fx)
			fx.expectReject(in, c.code, 0)
		})
	}
}

// makeStable delivers q matching checkpoints for seq from the execs of 0..q−1.
func (fx *fixture) makeStable(seq uint64) {
	fx.t.Helper()
	for r := uint64(0); r < 2*testF+1; r++ {
		c := fx.checkpoint(seq, digest(byte(seq)), r)
		fx.mustAccept(input(spec.KindCheckpoint, &c))
	}
	if st := fx.status(); st.Stable != seq {
		fx.t.Fatalf("seed %d: stable %d, want %d", fx.seed, st.Stable, seq)
	}
}

// suspect delivers suspect{v} and returns its outputs.
func (fx *fixture) suspect(v uint64) []spec.Output {
	fx.t.Helper()
	return fx.mustAccept(input(spec.KindSuspect, &spec.Suspect{View: v}))
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
