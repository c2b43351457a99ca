package client

import (
	"crypto/ed25519"
	"testing"

	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// recoveryAfter gives fx.cfg one governance member and returns a recovery after it
// (SPEC §17.8): every enrollment fresh, the plan signed by the member, q votes of the
// fresh execs on C' (StartState {5}).
func (fx *fixture) recoveryAfter(t *testing.T) spec.Recovery {
	t.Helper()
	member := ed25519.NewKeyFromSeed(make([]byte, 32))
	fx.cfg.Members, fx.cfg.Threshold = []spec.PublicKey{spec.PublicKey(member.Public().(ed25519.PublicKey))}, 1
	fx.cd = spec.ConfigDigest(fx.cfg)
	var next spec.Config
	if err := spec.Decode(spec.Encode(fx.cfg), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	next.Epoch, next.Prev, next.StartSeq = fx.cfg.Epoch+1, fx.cd, fx.cfg.StartSeq+3
	execKeys := make([]ed25519.PrivateKey, next.N)
	rnd := newReader(9001)
	for i := range next.N {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			k, err := testcluster.DeriveKeys(rnd, role)
			if err != nil {
				t.Fatal(err)
			}
			*next.Enrollment(role, i) = spec.Enrollment{Body: k.Enrollment(role, i, "test")}
			execKeys[i] = k.Sign
		}
	}
	plan := spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(&next), Base: fx.cfg.GenesisCert()}}
	plan.Sigs = []spec.MemberSig{{Member: 0, Sig: spec.Signature(ed25519.Sign(member, spec.SignedBytes(spec.DomainRecoveryPlan, fx.cd, spec.Encode(&plan.Body))))}}
	next.StartState = spec.Digest{5}
	r := spec.Recovery{Plan: plan, Config: spec.Encode(&next)}
	for i := range uint64(3) {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&next), Replica: i}
		r.Votes = append(r.Votes, spec.EpochVote{Body: b, Sig: spec.Signature(ed25519.Sign(execKeys[i], spec.SignedBytes(spec.DomainRecoveryVote, fx.cd, spec.Encode(&b))))})
	}
	return r
}

// TestFollowRecovery: a session follows a recovery like an epoch change, as a chain
// step (SPEC §17.7, §17.8); a forged vote or member signature changes nothing. The
// step survives the encoding a broker pushes or serves.
func TestFollowRecovery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(r *spec.Recovery)
		moved bool
	}{
		{"valid", func(*spec.Recovery) {}, true},
		{"forged vote", func(r *spec.Recovery) { r.Votes[2].Sig[1] ^= 1 }, false},
		{"forged member signature", func(r *spec.Recovery) { r.Plan.Sigs[0].Sig[9] ^= 1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, 1, 61)
			r := fx.recoveryAfter(t)
			s := fx.session(t)
			tc.forge(&r)
			var st spec.Step
			if err := spec.Decode(spec.Encode(spec.RecoveryStep(r)), &st, spec.MaxMessageBytes); err != nil || st.Recovery == nil {
				t.Fatalf("%s: the recovery does not decode as a chain step: %v", seedName(61), err)
			}
			moved, err := s.Follow([]spec.Step{st}, nil)
			if moved != tc.moved || (err == nil) != tc.moved || (s.Epoch() == 1) != tc.moved {
				t.Fatalf("%s: moved %v, err %v, epoch %d; want moved %v", seedName(61), moved, err, s.Epoch(), tc.moved)
			}
		})
	}
}
