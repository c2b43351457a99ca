package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// This file checks every accept rule of the recovery at exec (SPEC.md §17.8 RV1–RV5,
// RC1–RC5 through the plan and the recovery, RW1–RW3, the replay's window and T4) and
// sealing the group key (§11.2): each bad input gets its reject code and changes
// nothing.

// freshKey returns the signing key of fresh exec i of a recCluster.
func (r *recCluster) freshKey(t *testing.T, i uint64) ed25519.PrivateKey {
	k, err := testcluster.DeriveKeys(execRand(r.seed, 2000+i), spec.RoleExec)
	if err != nil {
		t.Fatal(err)
	}
	return k.Sign
}

// recoveryVote is fresh exec i's vote (signed with key) for next under C's digest.
func (r *recCluster) recoveryVote(key ed25519.PrivateKey, i uint64, next spec.Digest) spec.Input {
	b := spec.EpochVoteBody{Next: next, Replica: i}
	return in(spec.KindRecoveryVote, &spec.EpochVote{Body: b, Sig: r.sign(key, spec.DomainRecoveryVote, &b)})
}

// editedPlan signs (members 0 and 1) the plan for a copy of the template after edit.
func (r *recCluster) editedPlan(t *testing.T, edit func(*spec.Config, *spec.CheckpointCert)) spec.RecoveryPlan {
	var tmpl spec.Config
	mustDecode(t, spec.Encode(r.tmpl), &tmpl)
	base := r.base
	edit(&tmpl, &base)
	return r.signPlan(&tmpl, base, 0, 1)
}

// TestRecoverRules: RV1–RV5 at a fresh exec.
func TestRecoverRules(t *testing.T) {
	r := newRecCluster(t, 401, 10, 12)
	withKey := func(f, n uint64, data []byte) spec.Input {
		return in(spec.KindRecover, &spec.Recover{Prev: r.cfgRaw, Plan: r.plan, SealedKey: spec.SealedGroupKey{Format: f, Data: data}})
	}
	wrong := bytes.Repeat([]byte{7}, 32)
	cases := []struct {
		name  string
		x     *exec.Exec
		input spec.Input
		code  uint64
	}{
		{"RV1 configured exec", r.execs[0], r.recoverInput(r.plan), spec.CodeConfigured},
		{"RV2 prev does not decode", r.fresh[0], in(spec.KindRecover, &spec.Recover{Prev: []byte{0x83, 1}, Plan: r.plan, SealedKey: r.sealed}), spec.CodeBadConfig},
		{"RC2 one member signature", r.fresh[0], r.recoverInput(r.signPlan(r.tmpl, r.base, 0)), spec.CodeBadSignature},
		{"RC2 one member twice", r.fresh[0], r.recoverInput(r.signPlan(r.tmpl, r.base, 1, 1)), spec.CodeBadSignature},
		{"RC1 epoch skipped", r.fresh[0], r.recoverInput(r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.Epoch++ })), spec.CodeStale},
		{"RC3 base short of a quorum", r.fresh[0], r.recoverInput(r.editedPlan(t, func(_ *spec.Config, b *spec.CheckpointCert) { b.Proof = b.Proof[:2] })), spec.CodeBadCertificate},
		{"RC3 base above the head", r.fresh[0], r.recoverInput(r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.StartSeq = 9 })), spec.CodeBadCertificate},
		{"RC4 start state set", r.fresh[0], r.recoverInput(r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.StartState = r.headState })), spec.CodeBadConfig},
		{"RC4 window changed", r.fresh[0], r.recoverInput(r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.Window++ })), spec.CodeBadConfig},
		{"RC4 conf key of C reused", r.fresh[0], r.recoverInput(r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.Replicas[1].Conf = r.cfg.Replicas[1].Conf })), spec.CodeDuplicate},
		{"RV4 exec not in the template", first(r.freshStandalone(0, 1)), r.recoverInput(r.plan), spec.CodeBadConfig},
		{"RV5 format 1 outside an enclave", r.fresh[0], withKey(spec.SealEGoProduct, 0, r.g), spec.CodeBadShare},
		{"RV5 another key", r.fresh[0], withKey(spec.SealInsecure, 0, wrong), spec.CodeBadShare},
		{"RV5 short key", r.fresh[0], withKey(spec.SealInsecure, 0, r.g[:31]), spec.CodeBadShare},
		{"RV5 unknown format", r.fresh[0], withKey(9, 0, r.g), spec.CodeBadShare},
		{"seal-key before configure", r.fresh[0], in(spec.KindSealKey, &spec.SealGet{}), spec.CodeNotConfigured},
		{"recovery before recover", r.fresh[0], in(spec.KindRecovery, &spec.Recovery{Plan: r.plan}), spec.CodeNotConfigured},
		{"recovery at a configured exec", r.execs[0], in(spec.KindRecovery, &spec.Recovery{Plan: r.plan}), spec.CodeStale},
		{"recovery-vote at a configured exec", r.execs[0], r.recoveryVote(r.freshKey(t, 1), 1, spec.Digest{1}), spec.CodeStale},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, tc.x, tc.input, tc.code) })
	}
	expectAccept(t, r.fresh[0], r.recoverInput(r.plan))
	t.Run("RV1 second recover", func(t *testing.T) { expectReject(t, r.fresh[0], r.recoverInput(r.plan), spec.CodeConfigured) })
}

// TestReplayRules: the inputs of a replaying exec (window, T4, digest mismatch,
// forged commits, RW1–RW3, RC5, kinds it does not take).
func TestReplayRules(t *testing.T) {
	r := newRecCluster(t, 402, 10, 12)
	x := r.fresh[0]
	expectAccept(t, x, r.recoverInput(r.plan))
	empty := spec.Encode(&spec.Snapshot{Seq: 10, App: kv.New().Snapshot()})
	_, d := batchInput(r.reqs[11])
	cp := r.checkpointMsg(1, 10, r.base.State)
	k1 := r.freshKey(t, 1)
	next := *r.tmpl
	next.StartState = r.headState
	nd := spec.ConfigDigest(&next)
	two := spec.Recovery{Plan: r.plan, Config: spec.Encode(&next)}
	for _, i := range []uint64{0, 1} {
		var v spec.EpochVote
		mustDecode(t, r.recoveryVote(r.freshKey(t, i), i, nd).Body, &v)
		two.Votes = append(two.Votes, v)
	}
	forged := r.commit(1, 0, 11, d)
	forged.Sig = r.sign(r.newConf[1], spec.DomainCommit, &forged.Body) // a key of C', not of C
	cases := []struct {
		name  string
		input spec.Input
		code  uint64
	}{
		{"T4 chunk of another state", in(spec.KindStateChunk, ptr(r.sealChunk(10, spec.Digest{9}, 0, 1, uint64(len(empty)), empty))), spec.CodeStale},
		{"T4 chunk of another seq", in(spec.KindStateChunk, ptr(r.sealChunk(5, r.base.State, 0, 1, uint64(len(empty)), empty))), spec.CodeStale},
		{"older snapshot under the base's digest", in(spec.KindStateChunk, ptr(r.sealChunk(10, r.base.State, 0, 1, uint64(len(empty)), empty))), spec.CodeDigestMismatch},
		{"commit above the head", in(spec.KindCommit, ptr(r.commit(0, 0, 13, d))), spec.CodeOutOfWindow},
		{"commit at the base", in(spec.KindCommit, ptr(r.commit(0, 0, 10, d))), spec.CodeStale},
		{"commit with a key of C'", in(spec.KindCommit, &forged), spec.CodeBadSignature},
		{"RW1 unknown replica", r.recoveryVote(k1, 4, nd), spec.CodeUnknownSender},
		{"RW2 vote signed by an exec of C", r.recoveryVote(r.execSig[1], 1, nd), spec.CodeBadSignature},
		{"RW2 vote of replica 2 signed by exec 1", r.recoveryVote(k1, 2, nd), spec.CodeBadSignature},
		{"RC5 two votes", in(spec.KindRecovery, &two), spec.CodeBadCertificate},
		{"RC2 recovery with an unsigned plan", in(spec.KindRecovery, &spec.Recovery{Plan: r.signPlan(r.tmpl, r.base), Config: two.Config, Votes: two.Votes}), spec.CodeBadSignature},
		{"checkpoint while replaying", in(spec.KindCheckpoint, &cp), spec.CodeNotConfigured},
		{"configure while replaying", r.configureInput(0), spec.CodeConfigured},
		{"seal-key while replaying", in(spec.KindSealKey, &spec.SealGet{}), spec.CodeNotConfigured},
		{"epoch-vote while replaying", in(spec.KindEpochVote, ptr(r.vote(1, nd))), spec.CodeNotConfigured},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, tc.input, tc.code) })
	}
	expectAccept(t, x, r.recoveryVote(k1, 1, nd))
	t.Run("RW3 duplicate vote", func(t *testing.T) { expectReject(t, x, r.recoveryVote(k1, 1, nd), spec.CodeDuplicate) })
}

// first returns its first argument.
func first[A, B any](a A, _ B) A { return a }

// TestReplayForgedCommits: a commit certificate of a batch that f conf keys of C
// signed, completed with forged signatures, does not execute; the certified batch
// does, and the replay votes only at the head.
func TestReplayForgedCommits(t *testing.T) {
	r := newRecCluster(t, 403, 10, 12)
	x := r.fresh[0]
	expectAccept(t, x, append([]spec.Input{r.recoverInput(r.plan)}, r.chunks...)...)
	evil := r.kvRequest(r.clients[2], put("k3", "evil"))
	bi, d := batchInput(evil)
	ins := []spec.Input{bi, in(spec.KindCommit, ptr(r.commit(0, 0, 11, d)))} // f = 1 real conf key
	for _, c := range []uint64{1, 2} {
		f := r.commit(c, 0, 11, d)
		f.Sig = r.sign(r.newConf[c], spec.DomainCommit, &f.Body)
		ins = append(ins, in(spec.KindCommit, &f))
	}
	outs := stepRaw(t, x, spec.Encode(&spec.StepInput{Inputs: ins}))
	if rej := rejections(outs); len(rej) != 2 || rej[0].Code != spec.CodeBadSignature || rej[1].Code != spec.CodeBadSignature {
		t.Fatalf("want the two forged commits rejected bad-signature:%s", describe(outs))
	}
	if st := status(t, outs); st.Last != 10 {
		t.Fatalf("a forged certificate executed: %+v", st)
	}
	real, rd := batchInput(r.reqs[11])
	good := []spec.Input{real}
	for _, c := range []uint64{1, 2, 3} {
		good = append(good, in(spec.KindCommit, ptr(r.commit(c, 0, 11, rd))))
	}
	if st := status(t, expectAccept(t, x, good...)); st.Last != 11 {
		t.Fatalf("the certified batch did not execute: %+v", st)
	}
	outs = expectAccept(t, x, r.replayInputs(11, 12)...)
	if len(ofKind(outs, spec.KindRecoveryVote)) != 1 {
		t.Fatalf("no vote at the head:%s", describe(outs))
	}
	var v spec.EpochVote
	mustDecode(t, ofKind(outs, spec.KindRecoveryVote)[0].Body, &v)
	next := *r.tmpl
	next.StartState = r.headState
	if v.Body.Next != spec.ConfigDigest(&next) {
		t.Fatalf("voted for another state than C's at the head")
	}
}

// xorSealer is a test Sealer of format 1 standing in for EGo's: it XORs with a pad
// and refuses other additional data.
type xorSealer struct{ ad []byte }

func (xorSealer) Format() uint64 { return spec.SealEGoProduct }

func (s *xorSealer) Seal(g, ad []byte) ([]byte, error) {
	s.ad = bytes.Clone(ad)
	out := bytes.Clone(g)
	for i := range out {
		out[i] ^= 0x5a
	}
	return out, nil
}

func (s *xorSealer) Unseal(data, ad []byte) ([]byte, error) {
	if !bytes.Equal(ad, s.ad) {
		return nil, errors.New("xorSealer: other additional data")
	}
	return s.Seal(data, ad)
}

// TestSealKey: seal-key emits format 0 with g by default and the sealer's format
// with WithSealer; an exec with a format-1 sealer (in an enclave) refuses an
// unprotected key and opens its own format (RV5).
func TestSealKey(t *testing.T) {
	r := newRecCluster(t, 404, 10, 10)
	if r.sealed.Format != spec.SealInsecure || !bytes.Equal(r.sealed.Data, r.g) {
		t.Fatalf("default seal-key gave %+v", r.sealed)
	}
	s := &xorSealer{}
	x, enr := r.freshStandalone(0, 2, exec.WithSealer(s))
	plan := r.editedPlan(t, func(c *spec.Config, _ *spec.CheckpointCert) { c.Replicas[0].Exec = enr })
	sealed, _ := s.Seal(r.g, r.cfg.ExecGroupKey[:])
	expectReject(t, x, r.recoverInput(plan), spec.CodeBadShare) // format 0 in an enclave
	good := in(spec.KindRecover, &spec.Recover{Prev: r.cfgRaw, Plan: plan, SealedKey: spec.SealedGroupKey{Format: spec.SealEGoProduct, Data: sealed}})
	if st := status(t, expectAccept(t, x, good)); st.Configured || !st.NeedState || st.Stable != 10 {
		t.Fatalf("replay status %+v", st)
	}
}

// TestReplayMutations: seeded one-byte mutations of the inputs a replaying exec takes
// (chunks, batches, commits, votes, a recovery) never panic it, and every rejected
// one leaves its state unchanged.
func TestReplayMutations(t *testing.T) {
	const seed = 405
	r := newRecCluster(t, seed, 10, 12)
	x := r.fresh[0]
	expectAccept(t, x, r.recoverInput(r.plan))
	next := *r.tmpl
	next.StartState = r.headState
	nd := spec.ConfigDigest(&next)
	var v1 spec.EpochVote
	mustDecode(t, r.recoveryVote(r.freshKey(t, 1), 1, nd).Body, &v1)
	valid := append(append([]spec.Input{}, r.chunks...), r.replayInputs(10, 12)...)
	valid = append(valid, in(spec.KindRecoveryVote, &v1),
		in(spec.KindRecovery, &spec.Recovery{Plan: r.plan, Config: spec.Encode(&next), Votes: []spec.EpochVote{v1}}))
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 400; i++ {
		src := valid[rng.IntN(len(valid))]
		body := bytes.Clone(src.Body)
		body[rng.IntN(len(body))] ^= byte(1 + rng.IntN(255))
		before := x.DebugState()
		outs := stepRaw(t, x, spec.Encode(&spec.StepInput{Inputs: []spec.Input{{Kind: src.Kind, Body: body}}}))
		if len(rejections(outs)) == 1 && x.DebugState() != before {
			t.Fatalf("seed %d iteration %d: a rejected %s changed the state", seed, i, spec.KindName(src.Kind))
		}
	}
	if st := status(t, expectAccept(t, x, valid[:len(valid)-2]...)); st.Last != 12 {
		t.Fatalf("seed %d: the replay did not complete after the mutations: %+v", seed, st)
	}
}
