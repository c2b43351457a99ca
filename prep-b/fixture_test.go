package prepb

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// Test configuration: n = 4, f = 1, q = 3, K = 2, L = 4.
const (
	testN         = 4
	testF         = 1
	testK         = 2
	testL         = 4
	testMaxBatch  = 3
	testMaxOps    = 2
	testMaxOpSize = 40
)

// testClients are the registered client ids.
var testClients = []uint64{10, 20, 30}

// fixture is one prep-b under test (replica me) inside a cluster whose other
// enclaves and clients are simulated with keys generated from a seeded stream. The
// key of the prep under test is known too: it is derived from the 32 bytes handed to
// it as randomness, so expected outputs can be built byte for byte.
type fixture struct {
	t       testing.TB
	seed    int64
	rng     *rand.Rand
	me      uint64
	p       *Preparation
	cfg     spec.Config
	cd      spec.Digest
	preps   []*edcrypto.PrivateKey // preps[me] is the key of the prep under test
	confs   []*edcrypto.PrivateKey
	execs   []*edcrypto.PrivateKey
	clients map[uint64]*edcrypto.PrivateKey
}

// newKey draws a 32-byte seed from rng and expands it.
func newKey(t testing.TB, rng *rand.Rand) (*edcrypto.PrivateKey, []byte) {
	seed := make([]byte, 32)
	rng.Read(seed)
	k, err := edcrypto.NewKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k, seed
}

// newUnconfigured builds the fixture's keys and an initialised, unconfigured prep.
func newUnconfigured(t testing.TB, me uint64, seed int64) *fixture {
	t.Helper()
	fx := &fixture{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), me: me, clients: map[uint64]*edcrypto.PrivateKey{}}
	for r := uint64(0); r < testN; r++ {
		k, s := newKey(t, fx.rng)
		if r == me {
			fx.p = New(bytes.NewReader(s))
		}
		fx.preps = append(fx.preps, k)
		c, _ := newKey(t, fx.rng)
		e, _ := newKey(t, fx.rng)
		fx.confs, fx.execs = append(fx.confs, c), append(fx.execs, e)
	}
	for _, id := range testClients {
		fx.clients[id], _ = newKey(t, fx.rng)
	}
	enr, err := fx.p.Init(spec.Encode(&spec.InitRequest{Role: spec.RolePrep, Replica: me}))
	if err != nil {
		t.Fatalf("seed %d: Init: %v", seed, err)
	}
	var e spec.Enrollment
	if err := spec.Decode(enr, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if e.Body.SignKey != spec.PublicKey(fx.preps[me].Public()) {
		t.Fatalf("seed %d: enrolled key is not the one derived from the randomness", seed)
	}
	fx.cfg = fx.buildConfig(e)
	fx.cd = spec.ConfigDigest(&fx.cfg)
	return fx
}

// newFixture returns a configured prep-b at replica me.
func newFixture(t testing.TB, me uint64, seed int64) *fixture {
	t.Helper()
	fx := newUnconfigured(t, me, seed)
	fx.mustAccept(input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&fx.cfg)}))
	return fx
}

// enrollment returns a dev-insecure enrollment for a simulated enclave.
func enrollment(role spec.Role, r uint64, build string, key, box spec.PublicKey) spec.Enrollment {
	return spec.Enrollment{Body: spec.EnrollmentBody{Role: role, Replica: r, Build: []byte(build), SignKey: key, BoxKey: box}}
}

// randomKey returns 32 non-zero random bytes (an X25519 public key stand-in).
func (fx *fixture) randomKey() spec.PublicKey {
	var k spec.PublicKey
	fx.rng.Read(k[:])
	k[0] |= 1
	return k
}

// buildConfig builds a valid configuration around own, the prep's enrollment.
func (fx *fixture) buildConfig(own spec.Enrollment) spec.Config {
	cfg := spec.Config{
		Version: spec.WireVersion, Name: []byte("prepb-test"), N: testN, F: testF,
		CheckpointInterval: testK, Window: testL, MaxBatchRequests: testMaxBatch,
		MaxRequestOps: testMaxOps, MaxOpBytes: testMaxOpSize, AllowDevInsecure: true,
		ExecGroupKey: fx.randomKey(),
		Builds: []spec.BuildPolicy{
			{Role: spec.RolePrep, Build: []byte(Build)},
			{Role: spec.RoleConf, Build: []byte("conf-t")},
			{Role: spec.RoleExec, Build: []byte("exec-t")},
		},
	}
	for r := uint64(0); r < testN; r++ {
		rc := spec.ReplicaConfig{ID: r, Address: []byte("host:1"),
			Prep: enrollment(spec.RolePrep, r, Build, fx.preps[r].Public(), spec.PublicKey{}),
			Conf: enrollment(spec.RoleConf, r, "conf-t", fx.confs[r].Public(), spec.PublicKey{}),
			Exec: enrollment(spec.RoleExec, r, "exec-t", fx.execs[r].Public(), fx.randomKey()),
		}
		if r == fx.me {
			rc.Prep = own
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	for _, id := range testClients {
		cfg.Clients = append(cfg.Clients, spec.ClientConfig{ID: id, SignKey: fx.clients[id].Public(), BoxKey: fx.randomKey()})
	}
	return cfg
}

// input encodes body as an Input of the given kind.
func input(kind uint64, body any) spec.Input {
	return spec.Input{Kind: kind, Body: spec.Encode(body)}
}

// step runs one Step and returns its outputs without the final Status, checking
// that exactly one Status ends the output.
func (fx *fixture) step(ins ...spec.Input) []spec.Output {
	fx.t.Helper()
	raw := fx.p.Step(spec.Encode(&spec.StepInput{Inputs: ins}))
	return fx.splitStatus(raw)
}

// splitStatus decodes a StepOutput and strips its final Status.
func (fx *fixture) splitStatus(raw []byte) []spec.Output {
	fx.t.Helper()
	var so spec.StepOutput
	if err := spec.Decode(raw, &so, spec.MaxMessageBytes); err != nil {
		fx.t.Fatalf("seed %d: StepOutput does not decode: %v", fx.seed, err)
	}
	n := len(so.Outputs)
	if n == 0 || so.Outputs[n-1].Kind != spec.KindStatus {
		fx.t.Fatalf("seed %d: StepOutput does not end with a status", fx.seed)
	}
	for _, o := range so.Outputs[:n-1] {
		if o.Kind == spec.KindStatus {
			fx.t.Fatalf("seed %d: more than one status", fx.seed)
		}
	}
	return so.Outputs[:n-1]
}

// status returns the Status of an empty Step.
func (fx *fixture) status() spec.Status {
	fx.t.Helper()
	var so spec.StepOutput
	if err := spec.Decode(fx.p.Step(spec.Encode(&spec.StepInput{})), &so, spec.MaxMessageBytes); err != nil {
		fx.t.Fatal(err)
	}
	var st spec.Status
	if err := spec.Decode(so.Outputs[len(so.Outputs)-1].Body, &st, 1024); err != nil {
		fx.t.Fatal(err)
	}
	return st
}

// mustAccept runs one input and fails if it was rejected; it returns the outputs.
func (fx *fixture) mustAccept(in spec.Input) []spec.Output {
	fx.t.Helper()
	outs := fx.step(in)
	for _, o := range outs {
		if o.Kind == spec.KindReject {
			var r spec.Rejection
			_ = spec.Decode(o.Body, &r, 1024)
			fx.t.Fatalf("seed %d: %s rejected: %s", fx.seed, spec.KindName(in.Kind), spec.CodeName(r.Code))
		}
	}
	return outs
}

// expectReject runs one input and checks that its only output is a Rejection with
// the given code and Sub, and that the state dump is unchanged.
func (fx *fixture) expectReject(in spec.Input, code, sub uint64) {
	fx.t.Helper()
	before := fx.p.DebugState()
	outs := fx.step(in)
	want := spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 0, Kind: in.Kind, Code: code, Sub: sub})}
	if len(outs) != 1 || !bytes.Equal(spec.Encode(&outs[0]), spec.Encode(&want)) {
		fx.t.Fatalf("seed %d: got %q, want rejection %s sub %d", fx.seed, describe(outs), spec.CodeName(code), sub)
	}
	if after := fx.p.DebugState(); after != before {
		fx.t.Fatalf("seed %d: rejected input changed the state:\nbefore:\n%s\nafter:\n%s", fx.seed, before, after)
	}
}

// describe renders outputs for failure messages.
func describe(outs []spec.Output) string {
	return spec.DescribeOutput(&spec.StepOutput{Outputs: outs})
}

// expectOutputs checks outputs against want byte for byte.
func (fx *fixture) expectOutputs(got, want []spec.Output) {
	fx.t.Helper()
	g := spec.Encode(&spec.StepOutput{Outputs: got})
	w := spec.Encode(&spec.StepOutput{Outputs: want})
	if !bytes.Equal(g, w) {
		fx.t.Fatalf("seed %d: outputs differ\ngot:\n%s\nwant:\n%s", fx.seed, describe(got), describe(want))
	}
}

// all returns the replica ids 0..n−1.
func all() []uint64 { return []uint64{0, 1, 2, 3} }

// output builds an expected protocol output.
func output(kind, roles uint64, body any) spec.Output {
	return spec.Output{Kind: kind, To: spec.Destination{Roles: roles, Replicas: all()}, Body: spec.Encode(body)}
}

// rejection builds an expected Rejection output.
func rejection(idx, kind, code, sub uint64) spec.Output {
	return spec.Output{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: idx, Kind: kind, Code: code, Sub: sub})}
}

// sign signs SignedBytes(domain, cd, enc(body)) with k.
func (fx *fixture) sign(k *edcrypto.PrivateKey, domain string, body any) spec.Signature {
	return spec.Signature(k.Sign(spec.SignedBytes(domain, fx.cd, spec.Encode(body))))
}
