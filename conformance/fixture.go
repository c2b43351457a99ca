package conformance

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/internal/testcluster"
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
	Members    int    // governance members (SPEC.md §17.2); 0: none
	Threshold  uint64 // their threshold
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
	members  []ed25519.PrivateKey // governance members' keys, in Config.Members order
	// fresh: the compartment under test is no enclave of Config but a fresh one
	// (recovery.go); own is then its enrollment as a recovery template lists it.
	fresh bool
	own   spec.Enrollment
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
	return newFixture(seed, p, role, id, enrollment, false)
}

// NewFreshFixture is NewFixture for a compartment that is a fresh enclave outside
// the fixture's configuration C, as in a recovery of a whole cluster (SPEC.md §17.8):
// C's slot (role, id) holds keys of its own from the fixture's stream, the
// compartment gets no configure input, and the fixture keeps its enrollment (the one
// §3.5 derives from Stream("enclave", seed), dev-insecure) for recovery templates.
func NewFreshFixture(seed uint64, p Params, role spec.Role, id uint64, enrollment spec.EnrollmentBody) (*Fixture, error) {
	return newFixture(seed, p, role, id, enrollment, true)
}

func newFixture(seed uint64, p Params, role spec.Role, id uint64, enrollment spec.EnrollmentBody, fresh bool) (*Fixture, error) {
	fx := &Fixture{Params: p, Seed: seed, Role: role, ID: id, N: 3*p.F + 1,
		sign: map[slot]ed25519.PrivateKey{}, execBox: map[uint64][]byte{},
		nonces: Stream("fixture-nonces", seed), fresh: fresh}
	if id >= fx.N {
		return nil, fmt.Errorf("conformance: replica %d out of range for n=%d", id, fx.N)
	}
	tc, err := testcluster.New(seed, fx.clusterOptions())
	if err != nil {
		return nil, err
	}
	fx.takeKeys(tc)
	if err := fx.checkEnrollment(enrollment); err != nil {
		return nil, err
	}
	fx.Config, fx.CD = tc.Config, tc.CD
	fx.addMembers()
	if fresh {
		fx.own = spec.Enrollment{Body: DerivedEnrollment(seed, role, id), Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}
	} else if role == spec.RoleExec {
		fx.ownShare = []spec.GroupKeyShare{fx.wrapGroupKey(id)}
	}
	return fx, nil
}

// addMembers registers Params.Members governance members (keys from
// Stream("fixture-members", seed)) with Params.Threshold, before anything is signed.
func (fx *Fixture) addMembers() {
	if fx.Params.Members == 0 {
		return
	}
	keys := Stream("fixture-members", fx.Seed)
	for i := 0; i < fx.Params.Members; i++ {
		k := ed25519.NewKeyFromSeed(read(keys, 32))
		fx.members = append(fx.members, k)
		var pub spec.PublicKey
		copy(pub[:], k.Public().(ed25519.PublicKey))
		fx.Config.Members = append(fx.Config.Members, pub)
	}
	fx.Config.Threshold = fx.Params.Threshold
	fx.CD = spec.ConfigDigest(fx.Config)
}

// clusterOptions shapes the test cluster: every key from Stream("fixture-keys", seed)
// except the under-test enclave's, which come from Stream("enclave", seed); one
// fixture build per role (a and b implementations then run under one identical
// configuration: SPEC.md §8.1, F3).
func (fx *Fixture) clusterOptions() testcluster.Options {
	p := fx.Params
	opt := testcluster.Options{F: p.F, K: p.K, L: p.L, MaxBatch: p.MaxBatch, MaxOps: p.MaxOps, MaxOpBytes: p.MaxOpBytes,
		Name: "conformance", Builds: [3]string{"prep-fixture", "conf-fixture", "exec-fixture"},
		Address: func(r uint64) string { return fmt.Sprintf("replica-%d", r) }, Clients: []uint64{},
		Keys:     Stream("fixture-keys", fx.Seed),
		Override: map[testcluster.Slot]io.Reader{{Role: fx.Role, Replica: fx.ID}: Stream("enclave", fx.Seed)}}
	if fx.fresh {
		opt.Override = nil // the slot under test is an old enclave of C like every other
	}
	for i := 0; i < p.Clients; i++ {
		opt.Clients = append(opt.Clients, uint64(100+i))
	}
	return opt
}

// takeKeys copies the cluster's private keys into the fixture.
func (fx *Fixture) takeKeys(tc *testcluster.Cluster) {
	for r := uint64(0); r < fx.N; r++ {
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			k := tc.Keys(testcluster.Slot{Role: role, Replica: r})
			fx.sign[slot{role, r}] = k.Sign
			if role == spec.RoleExec {
				fx.execBox[r] = bytes.Clone(k.Box[:])
			}
		}
	}
	g := tc.GroupKey()
	fx.group = g[:]
	for _, c := range tc.Clients() {
		fx.clients = append(fx.clients, Client{ID: c.ID, Sign: ed25519.NewKeyFromSeed(c.Seed[:]), BoxPriv: bytes.Clone(c.BoxPrivate[:])})
	}
}

// checkEnrollment checks that the under-test enclave enrolled with the keys §3.5
// derives from its stream.
func (fx *Fixture) checkEnrollment(enr spec.EnrollmentBody) error {
	want := fx.SignKey(fx.Role, fx.ID)
	if fx.fresh {
		d := DerivedEnrollment(fx.Seed, fx.Role, fx.ID)
		if enr.SignKey != d.SignKey || enr.BoxKey != d.BoxKey || enr.Role != fx.Role || enr.Replica != fx.ID {
			return errors.New("conformance: the enrollment's keys are not the ones SPEC.md §3.5 derives from the randomness stream")
		}
		return nil
	}
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
	k, err := testcluster.DeriveKeys(Stream("enclave", seed), role)
	if err != nil {
		panic(err) // Stream never fails
	}
	return k.Enrollment(role, id, spec.RoleName(role)+"-fixture")
}
