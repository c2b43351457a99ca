package simnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// lyingExec returns a Byzantine wrapper for exec replica r that uses the enclave's
// real keys (learned through EnclaveRand) to seal a wrong result into every reply and
// sign a wrong state digest into every checkpoint. Its replies open and its
// checkpoints verify: only quorums protect the clients and the other replicas.
func lyingExec(t testing.TB, s *Sim, r uint64) func(real broker.Enclave) broker.Enclave {
	keys := enclaveKeys(t, s, EnclaveID{Role: spec.RoleExec, Replica: r})
	sign, box := keys.Sign, keys.Box
	cd := spec.ConfigDigest(s.Config())
	return func(real broker.Enclave) broker.Enclave {
		return &Byzantine{Real: real, Rewrite: func(_ *spec.StepInput, out *spec.StepOutput) {
			for i := range out.Outputs {
				o := &out.Outputs[i]
				switch o.Kind {
				case spec.KindReply:
					o.Body = forgeReply(s.Config(), cd, box, r, o.Body)
				case spec.KindCheckpoint:
					var c spec.Checkpoint
					spec.Decode(o.Body, &c, 1<<10)
					c.Body.State[0] ^= 0xff
					copy(c.Sig[:], ed25519.Sign(sign, spec.SignedBytes(spec.DomainCheckpoint, cd, spec.Encode(&c.Body))))
					o.Body = spec.Encode(&c)
				}
			}
		}}
	}
}

// forgeReply reseals a reply with a wrong result list under exec r's real reply key.
func forgeReply(cfg *spec.Config, cd spec.Digest, box [32]byte, r uint64, body []byte) []byte {
	var rep spec.Reply
	spec.Decode(body, &rep, 1<<20)
	cl := cfg.Client(rep.Client)
	shared, _ := curve25519.X25519(box[:], cl.BoxKey[:])
	info := append([]byte(spec.LabelReplyKey), spec.U64(rep.Client)...)
	info = append(info, spec.U64(r)...)
	key := make([]byte, 32)
	io.ReadFull(hkdf.New(sha256.New, shared, cd[:], info), key)
	ad := append([]byte(spec.LabelReplyAD), 0)
	ad = append(ad, cd[:]...)
	for _, v := range []uint64{rep.Client, rep.Timestamp, r, rep.View} {
		ad = append(ad, spec.U64(v)...)
	}
	aead, _ := chacha20poly1305.NewX(key)
	var list spec.ReplyResults // the genuine results, the last one replaced: the right length
	if pt, err := aead.Open(nil, rep.Nonce[:], rep.Ciphertext, ad); err != nil || spec.Decode(pt, &list, 1<<24) != nil || len(list.Results) == 0 {
		list.Results = []spec.Result{{}}
	}
	list.Results[len(list.Results)-1] = spec.Result{Status: spec.StatusOK, Value: []byte("forged")}
	rep.Ciphertext = aead.Seal(nil, rep.Nonce[:], spec.Encode(&list), ad)
	return spec.Encode(&rep)
}

// TestByzantineExec: one exec (f = 1) answers every operation with a validly sealed
// wrong result and signs wrong checkpoints. Clients never accept a forged result,
// correct replicas agree, and their state converges.
func TestByzantineExec(t *testing.T) {
	w := newWorkload(51, 6, 100)
	s, err := New(Options{Seed: 51, Factory: factories("mixed"), Clients: 6, OnResult: w.onResult})
	if err != nil {
		t.Fatal(err)
	}
	s.SetEnclave(EnclaveID{Role: spec.RoleExec, Replica: 3}, lyingExec(t, s, 3))
	forged := 0
	w.start(s)
	if err := s.RunUntil(func() bool { return w.done(s) || len(w.errs) > 0 }, 20_000_000); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Results() {
		for _, res := range r.Results {
			if string(res.Value) == "forged" {
				forged++
			}
		}
	}
	if len(w.errs) > 0 || forged > 0 {
		t.Fatalf("seed=%d: forged results accepted: %d, errors %v", s.Seed(), forged, w.errs)
	}
	w.stopped = true
	checkCounter(t, s, w.casOK)
	converge(t, s, 3)
	if s.CheckAgreement() == nil {
		t.Fatal("the lying exec's checkpoints were not observed: the test is vacuous")
	}
}
