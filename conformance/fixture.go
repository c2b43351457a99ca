package conformance

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Factory makes a fresh, uninitialised compartment that draws all its randomness
// from rand.
type Factory func(rand io.Reader) spec.Compartment

// Params shapes the test cluster a fixture builds.
type Params struct {
	F          uint64
	K, L       uint64
	MaxBatch   uint64
	MaxOps     uint64
	MaxOpBytes uint64
	Clients    int
}

// DefaultParams is a small cluster: n = 4, K = 4, L = 16, three clients.
func DefaultParams() Params {
	return Params{F: 1, K: 4, L: 16, MaxBatch: 16, MaxOps: 4, MaxOpBytes: 1024, Clients: 3}
}

type slot struct {
	role    spec.Role
	replica uint64
}

// Fixture is a test cluster around one compartment under test: it holds the private
// keys of every other enclave and every client (derived from the seed), and the
// under-test enclave's keys as derived from Stream("enclave", seed) per SPEC.md §3.5,
// so that it can sign any message any party could sign.
type Fixture struct {
	Params Params
	Seed   uint64
	Role   spec.Role // role of the compartment under test
	ID     uint64    // replica id of the compartment under test
	Config *spec.Config
	CD     spec.Digest
	N      uint64

	sign     map[slot]ed25519.PrivateKey
	execBox  map[uint64][]byte // exec X25519 private keys
	group    []byte            // exec group private key
	clients  []Client
	nonces   io.Reader // the fixture's own randomness for AEAD nonces
	ownShare []spec.GroupKeyShare
}

// Client is a fixture client's registration and private keys.
type Client struct {
	ID      uint64
	Sign    ed25519.PrivateKey
	BoxPriv []byte
}

// NewFixture builds the cluster for the compartment (role, id) whose Init returned
// enrollment, with the compartment's randomness being Stream("enclave", seed). It
// fails if the enrollment's keys are not the ones §3.5 derives from that stream.
func NewFixture(seed uint64, p Params, role spec.Role, id uint64, enrollment spec.EnrollmentBody) (*Fixture, error) {
	fx := &Fixture{Params: p, Seed: seed, Role: role, ID: id, N: 3*p.F + 1,
		sign: map[slot]ed25519.PrivateKey{}, execBox: map[uint64][]byte{},
		nonces: Stream("fixture-nonces", seed)}
	if id >= fx.N {
		return nil, fmt.Errorf("conformance: replica %d out of range for n=%d", id, fx.N)
	}
	if err := fx.deriveKeys(enrollment); err != nil {
		return nil, err
	}
	cfg, err := fx.buildConfig(enrollment)
	if err != nil {
		return nil, err
	}
	fx.Config, fx.CD = cfg, spec.ConfigDigest(cfg)
	if role == spec.RoleExec {
		fx.ownShare = []spec.GroupKeyShare{fx.wrapGroupKey(id)}
	}
	return fx, nil
}

// deriveKeys creates every key of the cluster. The under-test enclave's keys come from
// Stream("enclave", seed); all others from Stream("fixture-keys", seed).
func (fx *Fixture) deriveKeys(enr spec.EnrollmentBody) error {
	keys := Stream("fixture-keys", fx.Seed)
	own := Stream("enclave", fx.Seed)
	for r := uint64(0); r < fx.N; r++ {
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			src := keys
			if role == fx.Role && r == fx.ID {
				src = own
			}
			fx.sign[slot{role, r}] = ed25519.NewKeyFromSeed(read(src, 32))
			if role == spec.RoleExec {
				fx.execBox[r] = read(src, 32)
			}
		}
	}
	fx.group = read(keys, 32)
	for i := 0; i < fx.Params.Clients; i++ {
		fx.clients = append(fx.clients, Client{ID: uint64(100 + i),
			Sign: ed25519.NewKeyFromSeed(read(keys, 32)), BoxPriv: read(keys, 32)})
	}
	want := fx.SignKey(fx.Role, fx.ID)
	if enr.SignKey != want || enr.Role != fx.Role || enr.Replica != fx.ID {
		return errors.New("conformance: the enrollment's signing key is not the one SPEC.md §3.5 derives from the randomness stream")
	}
	if fx.Role == spec.RoleExec && enr.BoxKey != x25519Base(fx.execBox[fx.ID]) {
		return errors.New("conformance: the exec enrollment's box key is not the one SPEC.md §3.5 derives from the randomness stream")
	}
	return nil
}

func read(r io.Reader, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err) // Stream never fails
	}
	return b
}

// SignKey returns the Ed25519 public key of enclave (role, replica).
func (fx *Fixture) SignKey(role spec.Role, replica uint64) spec.PublicKey {
	var k spec.PublicKey
	copy(k[:], fx.sign[slot{role, replica}].Public().(ed25519.PublicKey))
	return k
}

func (fx *Fixture) buildConfig(enr spec.EnrollmentBody) (*spec.Config, error) {
	p := fx.Params
	cfg := &spec.Config{Version: spec.WireVersion, Name: []byte("conformance"), N: fx.N, F: p.F,
		CheckpointInterval: p.K, Window: p.L, MaxBatchRequests: p.MaxBatch, MaxRequestOps: p.MaxOps,
		MaxOpBytes: p.MaxOpBytes, AllowDevInsecure: true, ExecGroupKey: x25519Base(fx.group)}
	builds := map[spec.Role][]byte{spec.RolePrep: []byte("prep-fixture"), spec.RoleConf: []byte("conf-fixture"), spec.RoleExec: []byte("exec-fixture")}
	for r := uint64(0); r < fx.N; r++ {
		rc := spec.ReplicaConfig{ID: r, Address: []byte(fmt.Sprintf("replica-%d", r))}
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			body := spec.EnrollmentBody{Role: role, Replica: r, Build: builds[role], SignKey: fx.SignKey(role, r)}
			if role == spec.RoleExec {
				body.BoxKey = x25519Base(fx.execBox[r])
			}
			if role == fx.Role && r == fx.ID {
				// Keys from the enclave, build name fixed: a and b implementations
				// then run under one identical configuration (SPEC.md §8.1, F3).
				body.SignKey, body.BoxKey = enr.SignKey, enr.BoxKey
			}
			*enrollmentSlot(&rc, role) = spec.Enrollment{Body: body, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}
		}
		cfg.Replicas = append(cfg.Replicas, rc)
	}
	for role, b := range builds {
		cfg.Builds = append(cfg.Builds, spec.BuildPolicy{Role: role, Build: b})
	}
	sortBuilds(cfg.Builds)
	for _, c := range fx.clients {
		var sk, bk spec.PublicKey
		copy(sk[:], c.Sign.Public().(ed25519.PublicKey))
		bk = x25519Base(c.BoxPriv)
		cfg.Clients = append(cfg.Clients, spec.ClientConfig{ID: c.ID, SignKey: sk, BoxKey: bk})
	}
	return cfg, cfg.Validate(nil)
}

func enrollmentSlot(rc *spec.ReplicaConfig, role spec.Role) *spec.Enrollment {
	switch role {
	case spec.RolePrep:
		return &rc.Prep
	case spec.RoleConf:
		return &rc.Conf
	}
	return &rc.Exec
}

func sortBuilds(b []spec.BuildPolicy) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j].Role < b[j-1].Role; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// Clients returns the fixture's registered clients.
func (fx *Fixture) Clients() []Client { return fx.clients }

// Configure returns the configure input for the compartment under test (with its
// group key share if it is an exec).
func (fx *Fixture) Configure() spec.Input {
	return In(spec.KindConfigure, &spec.Configure{Config: spec.Encode(fx.Config), Share: fx.ownShare})
}

// Quorum returns 2f+1.
func (fx *Fixture) Quorum() int { return int(2*fx.Params.F + 1) }

// Primary returns primary(v).
func (fx *Fixture) Primary(v uint64) uint64 { return v % fx.N }

// DerivedEnrollment returns the enrollment body a conforming compartment (role, id)
// returns from Init when its randomness is Stream("enclave", seed) (SPEC.md §3.5),
// with the fixture's build name for that role.
func DerivedEnrollment(seed uint64, role spec.Role, id uint64) spec.EnrollmentBody {
	own := Stream("enclave", seed)
	body := spec.EnrollmentBody{Role: role, Replica: id, Build: []byte(spec.RoleName(role) + "-fixture")}
	copy(body.SignKey[:], ed25519.NewKeyFromSeed(read(own, 32)).Public().(ed25519.PublicKey))
	if role == spec.RoleExec {
		body.BoxKey = x25519Base(read(own, 32))
	}
	return body
}
