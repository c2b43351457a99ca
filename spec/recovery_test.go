package spec

import (
	"crypto/ed25519"
	"errors"
	"math/rand"
	"testing"
)

// recoveryWorld is a configuration C with two of three members and a valid recovery
// after it, all with real Ed25519 keys drawn from a seeded source.
type recoveryWorld struct {
	prev    *Config
	pd      Digest
	members []ed25519.PrivateKey
	execs   []ed25519.PrivateKey // the execs of C', by replica
	plan    RecoveryPlan
	rec     Recovery
}

func edVerify(pub PublicKey, msg []byte, sig Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

func edKey(rng *rand.Rand) (ed25519.PrivateKey, PublicKey) {
	seed := make([]byte, ed25519.SeedSize)
	rng.Read(seed)
	k := ed25519.NewKeyFromSeed(seed)
	var p PublicKey
	copy(p[:], k.Public().(ed25519.PublicKey))
	return k, p
}

func edSign(k ed25519.PrivateKey, msg []byte) Signature {
	var s Signature
	copy(s[:], ed25519.Sign(k, msg))
	return s
}

func newRecoveryWorld(t *testing.T, seed int64) *recoveryWorld {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	w := &recoveryWorld{prev: validConfig()}
	w.prev.Epoch, w.prev.Prev, w.prev.StartSeq, w.prev.StartState = 3, dg(0x31), 40, dg(0x32)
	for i := 0; i < 3; i++ {
		k, p := edKey(rng)
		w.members = append(w.members, k)
		w.prev.Members = append(w.prev.Members, p)
	}
	w.prev.Threshold = 2
	w.pd = ConfigDigest(w.prev)
	next := *w.prev
	next.Replicas = append([]ReplicaConfig(nil), w.prev.Replicas...)
	next.Epoch, next.Prev, next.StartSeq, next.StartState = 4, w.pd, 45, Digest{}
	for i := range next.Replicas {
		r := &next.Replicas[i]
		_, r.Prep.Body.SignKey = edKey(rng)
		_, r.Conf.Body.SignKey = edKey(rng)
		var k ed25519.PrivateKey
		k, r.Exec.Body.SignKey = edKey(rng)
		_, r.Exec.Body.BoxKey = edKey(rng)
		w.execs = append(w.execs, k)
	}
	w.plan = RecoveryPlan{Body: RecoveryPlanBody{Template: Encode(&next), Base: w.prev.GenesisCert()}}
	w.signPlan(0, 2)
	next.StartState = dg(0x33)
	w.rec = Recovery{Plan: w.plan, Config: Encode(&next)}
	nd := ConfigDigest(&next)
	for _, r := range []uint64{0, 1, 3} {
		body := EpochVoteBody{Next: nd, Replica: r}
		w.rec.Votes = append(w.rec.Votes, EpochVote{Body: body, Sig: edSign(w.execs[r], SignedBytes(DomainRecoveryVote, w.pd, Encode(&body)))})
	}
	return w
}

// signPlan replaces the plan's signatures by those of the given members.
func (w *recoveryWorld) signPlan(members ...int) {
	w.plan.Sigs = nil
	for _, m := range members {
		w.plan.Sigs = append(w.plan.Sigs, MemberSig{Member: uint64(m), Sig: edSign(w.members[m], SignedBytes(DomainRecoveryPlan, w.pd, Encode(&w.plan.Body)))})
	}
}

// resign re-signs the plan and the votes after a test changed the template or config.
func (w *recoveryWorld) resignVotes() {
	var next Config
	if err := Decode(w.rec.Config, &next, MaxMessageBytes); err != nil {
		panic(err)
	}
	nd := ConfigDigest(&next)
	for i := range w.rec.Votes {
		v := &w.rec.Votes[i]
		v.Body.Next = nd
		v.Sig = edSign(w.execs[v.Body.Replica], SignedBytes(DomainRecoveryVote, w.pd, Encode(&v.Body)))
	}
}

func TestVerifyRecovery(t *testing.T) {
	const seed = 20261206
	editTemplate := func(edit func(*Config)) func(*recoveryWorld) {
		return func(w *recoveryWorld) {
			var c Config
			if err := Decode(w.plan.Body.Template, &c, MaxMessageBytes); err != nil {
				panic(err)
			}
			edit(&c)
			w.plan.Body.Template = Encode(&c)
			w.signPlan(0, 2)
			c.StartState = dg(0x33)
			w.rec.Config = Encode(&c)
			w.rec.Plan = w.plan
			w.resignVotes()
		}
	}
	tests := []struct {
		name string
		edit func(*recoveryWorld)
		code uint64
		rule string
	}{
		{"valid", func(*recoveryWorld) {}, 0, ""},
		{"epoch skips", editTemplate(func(c *Config) { c.Epoch = 5 }), CodeStale, "RC1"},
		{"prev other", editTemplate(func(c *Config) { c.Prev = dg(0x77) }), CodeStale, "RC1"},
		{"one member", func(w *recoveryWorld) { w.signPlan(1); w.rec.Plan = w.plan }, CodeBadSignature, "RC2"},
		{"same member twice", func(w *recoveryWorld) {
			w.signPlan(1)
			w.plan.Sigs = append(w.plan.Sigs, w.plan.Sigs[0])
			w.rec.Plan = w.plan
		}, CodeBadSignature, "RC2"},
		{"no members", func(w *recoveryWorld) {
			w.prev.Threshold, w.prev.Members = 0, nil
			w.pd = ConfigDigest(w.prev)
			editTemplate(func(c *Config) { c.Prev = w.pd })(w)
		}, CodeBadSignature, "RC2"},
		{"base in an earlier epoch", func(w *recoveryWorld) {
			w.plan.Body.Base = CheckpointCert{Seq: 32, State: dg(0x40)}
			w.signPlan(0, 2)
			w.rec.Plan = w.plan
		}, CodeBadCertificate, "RC3"},
		{"head below base", editTemplate(func(c *Config) { c.StartSeq = 39 }), CodeBadCertificate, "RC3"},
		{"window changed", editTemplate(func(c *Config) { c.Window = 32 }), CodeBadConfig, "RC4"},
		{"template with a start state", editTemplate(func(c *Config) { c.StartState = dg(1) }), CodeBadConfig, "RC4"},
		{"old key kept", func(w *recoveryWorld) {
			editTemplate(func(c *Config) { c.Replicas[2].Conf = w.prev.Replicas[2].Conf })(w)
		}, CodeDuplicate, "RC4"},
		{"absent replica carried over", func(w *recoveryWorld) {
			editTemplate(func(c *Config) { c.Replicas[2] = w.prev.Replicas[2] })(w)
		}, 0, ""},
		{"f+1 replicas carried over", func(w *recoveryWorld) {
			editTemplate(func(c *Config) { c.Replicas[1], c.Replicas[2] = w.prev.Replicas[1], w.prev.Replicas[2] })(w)
		}, CodeDuplicate, "RC4"},
		{"slot carried over but its exec", func(w *recoveryWorld) {
			editTemplate(func(c *Config) {
				c.Replicas[2].Prep, c.Replicas[2].Conf = w.prev.Replicas[2].Prep, w.prev.Replicas[2].Conf
			})(w)
		}, CodeDuplicate, "RC4"},
		{"slot carried over with other evidence", func(w *recoveryWorld) {
			editTemplate(func(c *Config) {
				c.Replicas[2] = w.prev.Replicas[2]
				c.Replicas[2].Exec.Evidence.Data = append([]byte(nil), 0x01)
			})(w)
		}, CodeDuplicate, "RC4"},
		{"config differs from template", func(w *recoveryWorld) {
			var c Config
			_ = Decode(w.rec.Config, &c, MaxMessageBytes)
			c.StartSeq++
			w.rec.Config = Encode(&c)
			w.resignVotes()
		}, CodeBadConfig, "RC5"},
		{"2f votes", func(w *recoveryWorld) { w.rec.Votes = w.rec.Votes[:2] }, CodeBadCertificate, "RC5"},
		{"vote by an old exec key", func(w *recoveryWorld) {
			w.rec.Votes[1].Sig = edSign(w.members[0], SignedBytes(DomainRecoveryVote, w.pd, Encode(&w.rec.Votes[1].Body)))
		}, CodeBadCertificate, "RC5"},
		{"votes unsorted", func(w *recoveryWorld) {
			w.rec.Votes[0], w.rec.Votes[1] = w.rec.Votes[1], w.rec.Votes[0]
		}, CodeBadCertificate, "RC5"},
		{"vote with the epoch-vote domain", func(w *recoveryWorld) {
			v := &w.rec.Votes[2]
			v.Sig = edSign(w.execs[v.Body.Replica], SignedBytes(DomainEpochVote, w.pd, Encode(&v.Body)))
		}, CodeBadCertificate, "RC5"},
	}
	for _, tc := range tests {
		w := newRecoveryWorld(t, seed)
		tc.edit(w)
		next, code, err := VerifyRecovery(w.prev, w.pd, &w.rec, edVerify, nil)
		if code != tc.code || (err == nil) != (tc.code == 0) {
			t.Errorf("seed %d: %s: code %s, err %v; want %s", seed, tc.name, CodeName(code), err, CodeName(tc.code))
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrRecovery) || !containsRule(err.Error(), tc.rule) {
				t.Errorf("seed %d: %s: error %q does not name %s", seed, tc.name, err, tc.rule)
			}
			continue
		}
		if next.StartState != dg(0x33) || next.Epoch != w.prev.Epoch+1 {
			t.Errorf("seed %d: %s: next epoch %d start state %x", seed, tc.name, next.Epoch, next.StartState[:4])
		}
	}
}

func containsRule(s, rule string) bool {
	for i := 0; i+len(rule) <= len(s); i++ {
		if s[i:i+len(rule)] == rule {
			return true
		}
	}
	return false
}

// TestStepEncoding: a step encodes exactly as the epoch change or recovery it holds,
// decodes back to the same kind, and a chain of both verifies step by step.
func TestStepEncoding(t *testing.T) {
	w := newRecoveryWorld(t, 7)
	ec := exEpochChange()
	for _, st := range []Step{ChangeStep(*ec), RecoveryStep(w.rec)} {
		b := Encode(st)
		var inner []byte
		if st.Change != nil {
			inner = Encode(st.Change)
		} else {
			inner = Encode(st.Recovery)
		}
		if string(b) != string(inner) {
			t.Fatalf("step encodes as %x, its content as %x", b, inner)
		}
		var back Step
		if err := Decode(b, &back, MaxMessageBytes); err != nil {
			t.Fatalf("decode step: %v", err)
		}
		if (back.Change != nil) != (st.Change != nil) || string(Encode(back)) != string(b) {
			t.Fatalf("step decoded as another kind")
		}
	}
	if _, err := encMode.Marshal(Step{}); err == nil {
		t.Fatalf("an empty step encodes")
	}
	var s Step
	if err := Decode([]byte{0x80}, &s, MaxMessageBytes); err == nil {
		t.Fatalf("an empty array decodes as a step")
	}
	got, err := VerifySteps(w.prev, []Step{RecoveryStep(w.rec)}, edVerify, nil)
	if err != nil || got.Epoch != 4 {
		t.Fatalf("VerifySteps: %v", err)
	}
	w.rec.Votes = w.rec.Votes[:1]
	if _, err := VerifySteps(w.prev, []Step{RecoveryStep(w.rec)}, edVerify, nil); err == nil {
		t.Fatalf("VerifySteps accepted a recovery with one vote")
	}
}
