package client

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// fixture is a cluster configuration with known exec keys, so tests can play the
// execution enclaves: open requests with the group key and seal replies.
type fixture struct {
	cfg      *spec.Config
	cd       spec.Digest
	execBox  [][32]byte // exec box private keys by replica
	groupKey [32]byte   // exec group private key g
	id       Identity
	rnd      io.Reader
	tc       *testcluster.Cluster // signs as the enclaves of the first configuration
}

// seededReader is a deterministic byte stream for keys and nonces.
type seededReader struct{ r *rand.ChaCha8 }

func newReader(seed uint64) io.Reader {
	var s [32]byte
	copy(s[:], spec.U64(seed))
	return seededReader{rand.NewChaCha8(s)}
}

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// newFixture builds a valid configuration with n = 3f+1 replicas and one client, and
// requests of up to 4 operations.
func newFixture(t testing.TB, f uint64, seed uint64) *fixture {
	t.Helper()
	return newFixtureOps(t, f, seed, 4)
}

// newFixtureOps is newFixture with requests of up to maxOps operations.
func newFixtureOps(t testing.TB, f, seed, maxOps uint64) *fixture {
	t.Helper()
	rnd := newReader(seed)
	tc, err := testcluster.New(seed, testcluster.Options{F: f, K: 4, L: 8, MaxBatch: 8, MaxOps: maxOps, MaxOpBytes: 64,
		Name: "client-test", Builds: [3]string{"test", "test", "test"}, Clients: []uint64{7}, Keys: rnd})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	fx := &fixture{cfg: tc.Config, cd: tc.CD, rnd: rnd, groupKey: tc.GroupKey(), id: Identity(tc.Clients()[0]), tc: tc}
	for i := range tc.N() {
		fx.execBox = append(fx.execBox, tc.Keys(testcluster.Slot{Role: spec.RoleExec, Replica: i}).Box)
	}
	return fx
}

func (fx *fixture) session(t testing.TB) *Session {
	t.Helper()
	s, err := NewSession(fx.cfg, fx.id, fx.rnd)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openOps plays an exec: verifies the request signature and opens every op.
func (fx *fixture) openOps(t testing.TB, req []byte) (*spec.Request, [][]byte) {
	t.Helper()
	var r spec.Request
	if err := spec.Decode(req, &r, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		t.Fatal(err)
	}
	pub := fx.cfg.Client(r.Body.Client).SignKey
	if !ed25519.Verify(pub[:], spec.SignedBytes(spec.DomainRequest, fx.cd, spec.Encode(&r.Body)), r.Sig[:]) {
		t.Fatal("request signature does not verify")
	}
	// The exec side derives the key as X25519(g, client BoxKey).
	k, err := requestKey(fx.groupKey, fx.cfg.Client(r.Body.Client).BoxKey, fx.cd, r.Body.Client)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for j, op := range r.Body.Ops {
		pt, err := open(k, op.Nonce, op.Ciphertext, requestAD(fx.cd, r.Body.Client, r.Body.Timestamp+uint64(j)))
		if err != nil {
			t.Fatalf("op %d does not open: %v", j, err)
		}
		out = append(out, pt)
	}
	return &r, out
}

// reply plays exec r: seals the results res of the request with timestamp ts, one per
// operation, in view; the reply carries the last operation's timestamp (§12.3).
func (fx *fixture) reply(r, ts, view uint64, res ...spec.Result) []byte {
	return fx.replyFor(r, ts, uint64(len(res)), view, res...)
}

// replyFor plays exec r: seals the results res as its reply to the request with
// timestamp ts and k operations (res may hold another number of results: a faulty exec).
func (fx *fixture) replyFor(r, ts, k, view uint64, res ...spec.Result) []byte {
	return fx.sealedReply(r, ts+k-1, view, spec.Encode(&spec.ReplyResults{Results: res}))
}

// sealedReply plays exec r: seals plain as its reply with timestamp ts (the last
// operation's of the request it answers).
func (fx *fixture) sealedReply(r, ts, view uint64, plain []byte) []byte {
	k, err := replyKey(fx.execBox[r], fx.id.BoxKey(), fx.cd, fx.id.ID, r)
	if err != nil {
		panic(err)
	}
	nonce, _ := readNonce(fx.rnd)
	ct := seal(k, nonce, plain, replyAD(fx.cd, fx.id.ID, ts, r, view))
	return spec.Encode(&spec.Reply{Client: fx.id.ID, Timestamp: ts, Replica: r, View: view, Nonce: nonce, Ciphertext: ct})
}

func ok(v string) spec.Result { return spec.Result{Status: spec.StatusOK, Value: []byte(v)} }

func seedName(seed uint64) string { return fmt.Sprintf("seed=%d", seed) }
