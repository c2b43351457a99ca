package simnet

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// faultyClient plays a misbehaving registered client next to a workload: it keeps a
// real Session for the requests whose replies it checks, and crafts bad requests.
type faultyClient struct {
	t       *testing.T
	s       *Sim
	id      client.Identity
	sess    *client.Session
	done    *client.Completion
	replies map[uint64]int // replies received per timestamp
}

func (f *faultyClient) onReply(c uint64, reply []byte) {
	if c != f.id.ID {
		return
	}
	var r spec.Reply
	if spec.Decode(reply, &r, 1<<20) == nil {
		f.replies[r.Timestamp]++
	}
	if comp, ok, err := f.sess.HandleReply(reply); err == nil && ok {
		f.done = &comp
	}
}

// send injects raw bytes as a request at every replica.
func (f *faultyClient) send(raw []byte) {
	for r := range f.s.N() {
		f.s.InjectRequest(r, raw)
	}
}

// roundTrip sends a request (possibly a tampered version of the prepared one) and
// waits for the session to complete it.
func (f *faultyClient) roundTrip(ops [][]byte, tamper func(q *spec.Request)) ([]spec.Result, []byte) {
	f.t.Helper()
	raw, _, err := f.sess.Prepare(ops)
	if err != nil {
		f.t.Fatal(err)
	}
	if tamper != nil {
		var q spec.Request
		if err := spec.Decode(raw, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
			f.t.Fatal(err)
		}
		tamper(&q)
		raw = f.sign(&q)
	}
	f.done = nil
	f.send(raw)
	if err := f.s.RunUntil(func() bool { return f.done != nil }, 1_000_000); err != nil {
		f.t.Fatal(err)
	}
	return f.done.Results, raw
}

// sign re-signs a request body with the client's real key.
func (f *faultyClient) sign(q *spec.Request) []byte {
	key := ed25519.NewKeyFromSeed(f.id.Seed[:])
	copy(q.Sig[:], ed25519.Sign(key, spec.SignedBytes(spec.DomainRequest, spec.ConfigDigest(f.s.Config()), spec.Encode(&q.Body))))
	return spec.Encode(q)
}

// TestFaultyClient is scenario (c): a registered client sends requests with a bad
// signature, an undecryptable payload, replays, old timestamps, too many and too large
// operations, an unregistered id and garbage, while 8 clients run a workload. The bad
// requests are rejected or executed as no-ops, the faulty client's state is not
// rolled back by replays, the workload's results are correct, and no view change
// happens (nobody suspects the correct primary).
func TestFaultyClient(t *testing.T) {
	w := newWorkload(31, 8, 120)
	f := &faultyClient{t: t, replies: map[uint64]int{}}
	s, err := New(Options{Seed: 31, Factory: factories("mixed"), Clients: 9, OnResult: w.onResult, OnReply: f.onReply})
	if err != nil {
		t.Fatal(err)
	}
	f.s, f.id = s, s.Identity(9)
	if f.sess, err = client.NewSession(s.Config(), f.id, s.streamFor("faulty", 9, 0)); err != nil {
		t.Fatal(err)
	}
	w.start(s)
	key := []byte("faulty/key")
	if _, _, err := f.sess.Prepare(nil); err == nil {
		t.Fatal("empty request accepted by the session")
	}
	_, first := f.roundTrip([][]byte{client.PutOp(key, []byte("v1"))}, nil)
	firstTS := f.sess.NextTimestamp() - 1
	f.roundTrip([][]byte{client.PutOp(key, []byte("v2"))}, nil)
	badBefore := totalBadRequests(s)

	var q spec.Request
	spec.Decode(first, &q, spec.MaxBodyBytes(spec.KindRequest))
	f.sendInvalid(q)

	// Ordered and executed as no-ops: a replay of an old request, and the same old
	// timestamp under a fresh signature. Neither may roll the key back or get replies.
	repliesBefore := f.replies[firstTS]
	f.send(first)
	f.send(f.sign(&q))
	s.RunFor(300)
	if n := f.replies[firstTS]; n != repliesBefore {
		t.Fatalf("seed=%d: old request answered again: %d replies, %d before", s.Seed(), n, repliesBefore)
	}

	// An undecryptable payload with a valid signature and a fresh timestamp executes as
	// a no-op with status undecryptable.
	res, _ := f.roundTrip([][]byte{client.PutOp(key, []byte("v3"))}, func(q *spec.Request) {
		q.Body.Ops[0].Ciphertext[0] ^= 1
	})
	if res[0].Status != spec.StatusUndecryptable {
		t.Fatalf("seed=%d: undecryptable op gave status %d", s.Seed(), res[0].Status)
	}
	res, _ = f.roundTrip([][]byte{client.GetOp(key)}, nil)
	if res[0].Status != spec.StatusOK || string(res[0].Value) != "v2" {
		t.Fatalf("seed=%d: faulty client's key is %d/%q, want v2", s.Seed(), res[0].Status, res[0].Value)
	}
	if got := totalBadRequests(s) - badBefore; got < 5*s.N() {
		t.Fatalf("seed=%d: brokers dropped %d bad requests, want at least %d", s.Seed(), got, 5*s.N())
	}

	if err := s.RunUntil(func() bool { return w.done(s) || len(w.errs) > 0 }, 20_000_000); err != nil {
		t.Fatal(err)
	}
	if len(w.errs) > 0 {
		t.Fatalf("seed=%d: %v", s.Seed(), w.errs)
	}
	w.stopped = true
	checkCounter(t, s, w.casOK)
	converge(t, s)
	for i := range s.N() {
		st := s.Replica(i).Status()
		if st[spec.RoleConf].View != 0 || s.Replica(i).Metrics().Suspects != 0 {
			t.Fatalf("seed=%d: replica %d suspected the primary: view %d", s.Seed(), i, st[spec.RoleConf].View)
		}
	}
}

// sendInvalid sends requests that every broker's R1–R5 filter drops before any
// compartment sees them, derived from a valid request q.
func (f *faultyClient) sendInvalid(q spec.Request) {
	cfg := f.s.Config()
	mutations := []func(r *spec.Request){
		func(r *spec.Request) { r.Body.Ops = slices.Repeat(q.Body.Ops, int(cfg.MaxRequestOps)+1) },
		func(r *spec.Request) { r.Body.Ops = []spec.SealedOp{{Ciphertext: make([]byte, cfg.MaxOpBytes+1)}} },
		func(r *spec.Request) { r.Body.Ops = []spec.SealedOp{{Ciphertext: make([]byte, 16)}} },
		func(r *spec.Request) { r.Body.Timestamp = 0 },
		func(r *spec.Request) { r.Body.Client = 999 },
	}
	for i, m := range mutations {
		r := q
		r.Body.Timestamp = 1000 + uint64(i)
		m(&r)
		f.send(f.sign(&r))
	}
	badSig := q
	badSig.Body.Timestamp = 2000
	badSig.Sig[0] ^= 1
	f.send(spec.Encode(&badSig))
	f.send([]byte{0x82, 0x83})
	f.send(bytes.Repeat([]byte{0x40}, 100))
}

func totalBadRequests(s *Sim) uint64 {
	var n uint64
	for i := range s.N() {
		n += s.Replica(i).Metrics().BadRequests
	}
	return n
}
