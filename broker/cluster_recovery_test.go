package broker

import (
	"crypto/ed25519"
	"testing"

	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// Tests of the broker's side of the recovery of a whole cluster (SPEC.md §17.8), over
// fake compartments.

// recoveryFx is a world with one governance member and a recovery after its
// configuration to a C' of fresh enrollments (keys from seed 1000+3·replica+role).
type recoveryFx struct {
	w      *world
	member ed25519.PrivateKey
	next   *spec.Config
	fresh  [][3]testcluster.Keys
}

func newRecoveryFx(t *testing.T, seed uint64) *recoveryFx {
	t.Helper()
	w := epochWorld(t, seed)
	ms := read32(newSeeded(seed + 1))
	fx := &recoveryFx{w: w, member: ed25519.NewKeyFromSeed(ms[:])}
	w.cfg.Members, w.cfg.Threshold = []spec.PublicKey{edPub(fx.member)}, 1
	w.cd = spec.ConfigDigest(w.cfg)
	var next spec.Config
	if err := spec.Decode(spec.Encode(w.cfg), &next, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	next.Epoch, next.Prev, next.StartSeq = w.cfg.Epoch+1, w.cd, w.cfg.StartSeq+5
	for i := range next.N {
		var ks [3]testcluster.Keys
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			e := w.freshEnrollment(t, role, i, 1000+3*i+uint64(role))
			*next.Enrollment(role, i) = e
			k, err := testcluster.DeriveKeys(newSeeded(1000+3*i+uint64(role)), role)
			if err != nil {
				t.Fatal(err)
			}
			ks[role] = k
		}
		fx.fresh = append(fx.fresh, ks)
	}
	fx.next = &next
	return fx
}

// recovery returns the member-signed recovery to fx.next with StartState state and
// the votes of voters (signed by their fresh exec keys).
func (fx *recoveryFx) recovery(voters []uint64, state spec.Digest) *spec.Recovery {
	w := fx.w
	plan := spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(fx.next),
		Base: spec.CheckpointCert{Seq: w.cfg.StartSeq, State: w.cfg.StartState}}}
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(fx.member, spec.SignedBytes(spec.DomainRecoveryPlan, w.cd, spec.Encode(&plan.Body))))
	plan.Sigs = []spec.MemberSig{{Member: 0, Sig: sig}}
	c := *fx.next
	c.StartState = state
	r := &spec.Recovery{Plan: plan, Config: spec.Encode(&c)}
	for _, i := range voters {
		b := spec.EpochVoteBody{Next: spec.ConfigDigest(&c), Replica: i}
		var s spec.Signature
		copy(s[:], ed25519.Sign(fx.fresh[i][spec.RoleExec].Sign, spec.SignedBytes(spec.DomainRecoveryVote, w.cd, spec.Encode(&b))))
		r.Votes = append(r.Votes, spec.EpochVote{Body: b, Sig: s})
	}
	return r
}

// TestPeerRecovery: a valid recovery from a peer is adopted like an epoch change (the
// chain and the ledger record it, the configuration switches); only exec gets it as
// an input; a recovering broker configures its fresh prep and conf with C' and sends
// the recovery to every peer. An invalid one changes nothing.
func TestPeerRecovery(t *testing.T) {
	cases := []struct {
		name       string
		mutate     func(fx *recoveryFx, r *spec.Recovery)
		recovering bool
		ok         bool
	}{
		{"valid, recovering", func(*recoveryFx, *spec.Recovery) {}, true, true},
		{"valid, not recovering", func(*recoveryFx, *spec.Recovery) {}, false, true},
		{"forged vote", func(_ *recoveryFx, r *spec.Recovery) { r.Votes[1].Sig[0] ^= 1 }, true, false},
		{"forged member signature", func(_ *recoveryFx, r *spec.Recovery) { r.Plan.Sigs[0].Sig[5] ^= 1 }, true, false},
		{"two votes", func(_ *recoveryFx, r *spec.Recovery) { r.Votes = r.Votes[:2] }, true, false},
		{"config differs from template", func(fx *recoveryFx, r *spec.Recovery) {
			c := *fx.next
			c.StartSeq++
			r.Config = spec.Encode(&c)
		}, true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(700 + i)
			fx := newRecoveryFx(t, seed)
			led := &fakeLedger{}
			h := harnessIn(fx.w, 0, Options{Ledger: led})
			if tc.recovering {
				h.r.BeginRecovery([3]spec.Enrollment{*fx.next.Enrollment(spec.RolePrep, 0), *fx.next.Enrollment(spec.RoleConf, 0), *fx.next.Enrollment(spec.RoleExec, 0)})
			}
			rec := fx.recovery([]uint64{0, 1, 2}, spec.Digest{7})
			tc.mutate(fx, rec)
			h.peer(1, spec.KindRecovery, rec)
			h.r.Flush()
			_, chain := h.r.Chain()
			adopted := len(chain) == 1 && chain[0].Recovery != nil && h.r.Config().Epoch == 1 && len(led.epochs) == 1
			if adopted != tc.ok || (h.r.Metrics().BadEpochChanges == 1) == tc.ok {
				t.Fatalf("seed %d: adopted %v (chain %d, epoch %d, ledger %d, bad %d), want %v", seed, adopted, len(chain), h.r.Config().Epoch, len(led.epochs), h.r.Metrics().BadEpochChanges, tc.ok)
			}
			if !tc.ok {
				return
			}
			if n := countKind(h.enc[spec.RoleExec].inputs(), spec.KindRecovery); n != 1 {
				t.Fatalf("seed %d: exec got %d recoveries, want 1", seed, n)
			}
			for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf} {
				ins := h.enc[role].inputs()
				if countKind(ins, spec.KindRecovery) != 0 || countKind(ins, spec.KindEpochChange) != 0 {
					t.Fatalf("seed %d: %s got a chain step", seed, spec.RoleName(role))
				}
				if got, want := countKind(ins, spec.KindConfigure), b2i(tc.recovering); got != want {
					t.Fatalf("seed %d: %s configured %d times, want %d", seed, spec.RoleName(role), got, want)
				}
			}
			for p := uint64(1); p < 4; p++ {
				if kinds := h.net.sentKinds(t, p); countU(kinds, spec.KindRecovery) != 1 {
					t.Fatalf("seed %d: peer %d was sent %v, want one recovery", seed, p, kinds)
				}
			}
			if h.r.Recovering() {
				t.Fatalf("seed %d: still recovering after adopting C'", seed)
			}
		})
	}
}

// TestReplayOnlyWhileRecovering: Replay queues recover, state chunks, batches and
// COMMITs for exec during a recovery, and nothing outside one, of another kind or that
// does not decode.
func TestReplayOnlyWhileRecovering(t *testing.T) {
	fx := newRecoveryFx(t, 750)
	h := harnessIn(fx.w, 0, Options{})
	bodies := map[uint64][]byte{spec.KindRecover: spec.Encode(&spec.Recover{}), spec.KindStateChunk: spec.Encode(&spec.StateChunk{}),
		spec.KindBatch: spec.Encode(&spec.Batch{}), spec.KindCommit: spec.Encode(&spec.Commit{}), spec.KindConfigure: spec.Encode(&spec.Configure{})}
	h.r.Replay(spec.KindRecover, bodies[spec.KindRecover])
	h.r.BeginRecovery([3]spec.Enrollment{})
	for _, k := range []uint64{spec.KindRecover, spec.KindStateChunk, spec.KindBatch, spec.KindCommit, spec.KindConfigure} {
		h.r.Replay(k, bodies[k])
		h.r.Replay(k, []byte{0x80}) // garbage: dropped
	}
	h.r.Flush()
	got := h.enc[spec.RoleExec].kinds()
	want := []uint64{spec.KindRecover, spec.KindStateChunk, spec.KindBatch, spec.KindCommit}
	for _, k := range want {
		if countU(got, k) != 1 {
			t.Fatalf("exec got %v, want each of %v once", got, want)
		}
	}
	if countU(got, spec.KindConfigure) != 0 || len(h.enc[spec.RolePrep].inputs()) != 0 {
		t.Fatalf("exec got %v and prep %d inputs: a configure was replayed or prep was not held down", got, len(h.enc[spec.RolePrep].inputs()))
	}
}

func countU(ks []uint64, k uint64) (n int) {
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}
