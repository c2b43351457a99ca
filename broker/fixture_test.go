package broker

import (
	"crypto/ed25519"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
	"golang.org/x/crypto/curve25519"
)

// seeded is a deterministic byte stream.
type seeded struct{ r *rand.ChaCha8 }

func newSeeded(seed uint64) io.Reader {
	var s [32]byte
	copy(s[:], spec.U64(seed))
	return seeded{rand.NewChaCha8(s)}
}

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func read32(r io.Reader) (k [32]byte) {
	if _, err := io.ReadFull(r, k[:]); err != nil {
		panic(err)
	}
	return k
}

func x25519Pub(priv [32]byte) (p spec.PublicKey) {
	out, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		panic(err)
	}
	copy(p[:], out)
	return p
}

func edPub(k ed25519.PrivateKey) (p spec.PublicKey) {
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}

// world is a test cluster configuration with every key known.
type world struct {
	tc      *testcluster.Cluster
	cfg     *spec.Config
	cd      spec.Digest
	clients []client.Identity
	rnd     io.Reader // the seeded stream the keys came from, continued (nonces)
}

// newWorld builds a valid configuration for n = 3f+1 replicas and nc clients.
func newWorld(t testing.TB, f uint64, nc int, seed uint64) *world {
	t.Helper()
	w := &world{rnd: newSeeded(seed)}
	ids := make([]uint64, nc)
	for i := range ids {
		ids[i] = uint64(100 + i)
	}
	tc, err := testcluster.New(seed, testcluster.Options{F: f, K: 4, L: 8, MaxBatch: 8, MaxOps: 4, MaxOpBytes: 256,
		Name: "broker-test", Builds: [3]string{"fake", "fake", "fake"}, Clients: ids, Keys: w.rnd, Admit: AdmitKey})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	w.tc, w.cfg, w.cd = tc, tc.Config, tc.CD
	for _, c := range tc.Clients() {
		w.clients = append(w.clients, client.Identity(c))
	}
	return w
}

// request returns a valid encoded REQUEST of client i with the given timestamp.
func (w *world) request(t testing.TB, i int, ts uint64) ([]byte, *spec.Request) {
	t.Helper()
	return w.requestOps(t, i, ts, 1)
}

// requestOps is request with n operations (timestamps ts..ts+n-1).
func (w *world) requestOps(t testing.TB, i int, ts uint64, n int) ([]byte, *spec.Request) {
	t.Helper()
	s, err := client.NewSession(w.cfg, w.clients[i], w.rnd)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetNextTimestamp(ts); err != nil {
		t.Fatal(err)
	}
	ops := make([][]byte, n)
	for j := range ops {
		ops[j] = client.GetOp([]byte("k"))
	}
	raw, _, err := s.Prepare(ops)
	if err != nil {
		t.Fatal(err)
	}
	var q spec.Request
	if err := spec.Decode(raw, &q, spec.MaxBodyBytes(spec.KindRequest)); err != nil {
		t.Fatal(err)
	}
	return raw, &q
}

func (w *world) sign(replica uint64, role spec.Role, domain string, body any) spec.Signature {
	return w.tc.Sign(role, replica, domain, body)
}

func (w *world) viewChange(replica, view uint64) *spec.ViewChange {
	b := spec.ViewChangeBody{View: view, Replica: replica}
	return &spec.ViewChange{Body: b, Sig: w.sign(replica, spec.RoleConf, spec.DomainViewChange, &b)}
}

func (w *world) checkpoint(replica, seq uint64, state spec.Digest) *spec.Checkpoint {
	b := spec.CheckpointBody{Seq: seq, State: state, Replica: replica}
	return &spec.Checkpoint{Body: b, Sig: w.sign(replica, spec.RoleExec, spec.DomainCheckpoint, &b)}
}

// fakeEnclave is a scripted compartment: it records every StepInput and answers with
// the script's outputs followed by its status.
type fakeEnclave struct {
	role   spec.Role
	st     spec.Status
	script func(f *fakeEnclave, in spec.Input) []spec.Output
	steps  [][]spec.Input
	fail   bool
}

func (f *fakeEnclave) Init([]byte) ([]byte, error) { return nil, errors.New("not used") }

func (f *fakeEnclave) Step(raw []byte) ([]byte, error) {
	if f.fail {
		return nil, errors.New("host failure")
	}
	var in spec.StepInput
	if err := spec.Decode(raw, &in, spec.MaxMessageBytes); err != nil {
		panic("broker passed an undecodable StepInput: " + err.Error())
	}
	for _, x := range in.Inputs {
		if _, err := spec.DecodeKind(x.Kind, x.Body); err != nil {
			panic("broker passed an undecodable input: " + err.Error())
		}
	}
	f.steps = append(f.steps, in.Inputs)
	var out spec.StepOutput
	for _, x := range in.Inputs {
		if f.script != nil {
			out.Outputs = append(out.Outputs, f.script(f, x)...)
		}
	}
	out.Outputs = append(out.Outputs, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(&f.st)})
	return spec.Encode(&out), nil
}

// inputs returns every input delivered, flattened.
func (f *fakeEnclave) inputs() []spec.Input {
	var all []spec.Input
	for _, s := range f.steps {
		all = append(all, s...)
	}
	return all
}

func (f *fakeEnclave) kinds() []uint64 {
	var k []uint64
	for _, in := range f.inputs() {
		k = append(k, in.Kind)
	}
	return k
}

// fakeNet records what a replica sends.
type fakeNet struct {
	sent    []sent
	replies []sent
	epochs  [][]byte // epoch changes pushed to clients (EpochNet)
}

type sent struct {
	to  uint64
	msg []byte
}

func (n *fakeNet) Send(to uint64, msg []byte) { n.sent = append(n.sent, sent{to, msg}) }
func (n *fakeNet) Epoch(change []byte)        { n.epochs = append(n.epochs, change) }
func (n *fakeNet) Reply(client uint64, reply []byte) {
	n.replies = append(n.replies, sent{client, reply})
}

// sentKinds returns the PeerMsg kinds sent to peer to.
func (n *fakeNet) sentKinds(t testing.TB, to uint64) []uint64 {
	var k []uint64
	for _, s := range n.sent {
		if s.to != to {
			continue
		}
		m, _, err := DecodePeer(s.msg)
		if err != nil {
			t.Fatalf("replica sent an undecodable PeerMsg: %v", err)
		}
		k = append(k, m.Kind)
	}
	return k
}

// harness is one Replica over fake enclaves and a fake net.
type harness struct {
	w   *world
	r   *Replica
	enc [3]*fakeEnclave
	net *fakeNet
}

func newHarness(t testing.TB, id uint64, opt Options) *harness {
	return harnessIn(newWorld(t, 1, 8, 42), id, opt)
}

// harnessIn builds a harness in an existing world. Its broker hands every message to
// its compartments as it comes, without the gate (gate.go), unless opt sets
// GateTicks: these tests follow one message at a time through the broker, and
// gate_test.go tests the gate.
func harnessIn(w *world, id uint64, opt Options) *harness {
	if opt.GateTicks == 0 {
		opt.GateTicks = -1
	}
	h := &harness{w: w, net: &fakeNet{}}
	var encs [3]Enclave
	for role := range h.enc {
		h.enc[role] = &fakeEnclave{role: spec.Role(role), st: spec.Status{Role: spec.Role(role), Replica: id, Configured: true, ViewActive: true}}
		encs[role] = h.enc[role]
	}
	h.r = NewReplica(id, w.cfg, encs, h.net, opt)
	return h
}

func (h *harness) peer(from uint64, kind uint64, body any) {
	h.r.HandlePeer(from, EncodePeer(kind, spec.Encode(body)))
}

func (h *harness) ticks(n int) {
	for range n {
		h.r.Tick()
		h.r.Flush()
	}
}
