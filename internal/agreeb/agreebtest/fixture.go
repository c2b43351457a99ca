package agreebtest

import (
	"bytes"
	"io"
	"math/rand"
	"testing"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// Test configuration: n = 4, f = 1, q = 3, K = 2, L = 4.
const (
	N         = 4
	F         = 1
	K         = 2
	L         = 4
	MaxBatch  = 3
	MaxOps    = 2
	MaxOpSize = 40
)

// Clients are the registered client ids.
var Clients = []uint64{10, 20, 30}

// Compartment is a b compartment under test: spec.Compartment plus its
// deterministic state dump.
type Compartment interface {
	spec.Compartment
	DebugState() string
}

// Setup describes the compartment under test.
type Setup struct {
	Role       spec.Role                   // prep or conf
	Build      string                      // its build name, e.g. "prep-b"
	ConfigName string                      // the Name of the test configuration
	New        func(io.Reader) Compartment // the compartment's constructor
}

// World is one compartment under test (replica Me) inside a cluster whose other
// enclaves and clients are simulated with keys generated from a seeded stream. The
// key of the compartment under test is known too: it is derived from the 32 bytes
// handed to it as randomness, so expected outputs can be built byte for byte.
type World struct {
	T     testing.TB // the test to fail; a subtest may replace it
	Seed  int64      // the seed of Rng, printed on every failure
	Rng   *rand.Rand
	Setup *Setup
	Me    uint64
	P     Compartment // the compartment under test
	Cfg   spec.Config // a valid configuration around P's enrollment
	CD    spec.Digest // ConfigDigest(&Cfg)
	// Preps, Confs and Execs hold the keys of each replica's enclaves; the entry
	// of Me for Setup.Role is the key of P.
	Preps, Confs, Execs []*edcrypto.PrivateKey
	ClientKeys          map[uint64]*edcrypto.PrivateKey
}

// NewKey draws a 32-byte seed from rng and expands it.
func NewKey(t testing.TB, rng *rand.Rand) (*edcrypto.PrivateKey, []byte) {
	seed := make([]byte, 32)
	rng.Read(seed)
	k, err := edcrypto.NewKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k, seed
}

// NewUnconfigured builds the keys and an initialised, unconfigured compartment of
// setup s at replica me.
func NewUnconfigured(t testing.TB, s *Setup, me uint64, seed int64) *World {
	t.Helper()
	w := &World{T: t, Seed: seed, Rng: rand.New(rand.NewSource(seed)), Setup: s, Me: me, ClientKeys: map[uint64]*edcrypto.PrivateKey{}}
	for r := uint64(0); r < N; r++ {
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			k, rnd := NewKey(t, w.Rng)
			if r == me && role == s.Role {
				w.P = s.New(bytes.NewReader(rnd))
			}
			*w.keys(role) = append(*w.keys(role), k)
		}
	}
	for _, id := range Clients {
		w.ClientKeys[id], _ = NewKey(t, w.Rng)
	}
	enr, err := w.P.Init(spec.Encode(&spec.InitRequest{Role: s.Role, Replica: me}))
	if err != nil {
		t.Fatalf("seed %d: Init: %v", seed, err)
	}
	var e spec.Enrollment
	if err := spec.Decode(enr, &e, spec.MaxMessageBytes); err != nil {
		t.Fatal(err)
	}
	if e.Body.SignKey != spec.PublicKey((*w.keys(s.Role))[me].Public()) {
		t.Fatalf("seed %d: enrolled key is not the one derived from the randomness", seed)
	}
	w.Cfg = w.buildConfig(e)
	w.CD = spec.ConfigDigest(&w.Cfg)
	return w
}

// NewConfigured returns a configured compartment of setup s at replica me.
func NewConfigured(t testing.TB, s *Setup, me uint64, seed int64) *World {
	t.Helper()
	w := NewUnconfigured(t, s, me, seed)
	w.MustAccept(Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&w.Cfg)}))
	return w
}

// keys returns the key list of role.
func (w *World) keys(role spec.Role) *[]*edcrypto.PrivateKey {
	switch role {
	case spec.RolePrep:
		return &w.Preps
	case spec.RoleConf:
		return &w.Confs
	}
	return &w.Execs
}

// Enrollment returns a dev-insecure enrollment for a simulated enclave.
func Enrollment(role spec.Role, r uint64, build string, key, box spec.PublicKey) spec.Enrollment {
	return spec.Enrollment{Body: spec.EnrollmentBody{Role: role, Replica: r, Build: []byte(build), SignKey: key, BoxKey: box}}
}

// RandomKey returns 32 non-zero random bytes (an X25519 public key stand-in).
func (w *World) RandomKey() spec.PublicKey {
	var k spec.PublicKey
	w.Rng.Read(k[:])
	k[0] |= 1
	return k
}

// buildName returns the build name of role in the test configuration: the build
// under test for its own role, a stand-in "<role>-t" for the others.
func (w *World) buildName(role spec.Role) string {
	if role == w.Setup.Role {
		return w.Setup.Build
	}
	return spec.RoleName(role) + "-t"
}

// buildConfig builds a valid configuration around own, the enrollment of P.
func (w *World) buildConfig(own spec.Enrollment) spec.Config {
	cfg := spec.Config{
		Version: spec.WireVersion, Name: []byte(w.Setup.ConfigName), N: N, F: F,
		CheckpointInterval: K, Window: L, MaxBatchRequests: MaxBatch,
		MaxRequestOps: MaxOps, MaxOpBytes: MaxOpSize, AllowDevInsecure: true,
		ExecGroupKey: w.RandomKey(),
	}
	for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
		cfg.Builds = append(cfg.Builds, spec.BuildPolicy{Role: role, Build: []byte(w.buildName(role))})
	}
	for r := uint64(0); r < N; r++ {
		rc := spec.ReplicaConfig{ID: r, Address: []byte("host:1"),
			Prep: Enrollment(spec.RolePrep, r, w.buildName(spec.RolePrep), w.Preps[r].Public(), spec.PublicKey{}),
			Conf: Enrollment(spec.RoleConf, r, w.buildName(spec.RoleConf), w.Confs[r].Public(), spec.PublicKey{}),
			Exec: Enrollment(spec.RoleExec, r, w.buildName(spec.RoleExec), w.Execs[r].Public(), w.RandomKey()),
		}
		if r == w.Me && w.Setup.Role == spec.RolePrep {
			rc.Prep = own
		} else if r == w.Me {
			rc.Conf = own
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	for _, id := range Clients {
		cfg.Clients = append(cfg.Clients, spec.ClientConfig{ID: id, SignKey: w.ClientKeys[id].Public(), BoxKey: w.RandomKey()})
	}
	return cfg
}

// Sign signs SignedBytes(domain, CD, enc(body)) with k.
func (w *World) Sign(k *edcrypto.PrivateKey, domain string, body any) spec.Signature {
	return spec.Signature(k.Sign(spec.SignedBytes(domain, w.CD, spec.Encode(body))))
}
