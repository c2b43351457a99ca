package agreeb

import (
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// Profile names one b compartment build to the shared code. A compartment keeps one
// Profile for its whole life and never changes it.
type Profile struct {
	Name       string    // the build name reported in the enrollment, e.g. "prep-b"
	Role       spec.Role // the role the compartment enrolls for (§7.1 I2)
	Pkg        string    // the Go package name that prefixes error texts, e.g. "prepb"
	ErrBadInit error     // wrapped by every error Init returns (reject code bad-init)
}

// Identity is an enclave's identity: its profile, its randomness source and, once
// Init succeeded, its enrollment body and signing key. The zero value is not usable;
// build one with NewIdentity.
type Identity struct {
	profile *Profile  // never nil
	rand    io.Reader // the only randomness: 32 bytes read at Init (§3.5)

	// inited is set once by a successful Init and never cleared; self and key are
	// meaningful only once it is set (before, self is zero and key nil).
	inited bool
	self   spec.EnrollmentBody // this enclave's enrollment body; Replica is i
	key    *Signer
}

// NewIdentity returns the identity of an uninitialised compartment of profile p that
// draws its key seed from rand.
func NewIdentity(p *Profile, rand io.Reader) Identity {
	return Identity{profile: p, rand: rand}
}

// Init applies SPEC.md §7.1: it checks I1–I3, reads the 32-byte signing key seed
// from the randomness source and returns the encoded Enrollment with dev-insecure
// evidence. On any error the identity is unchanged.
func (id *Identity) Init(req []byte) ([]byte, error) {
	p := id.profile
	var ir spec.InitRequest
	if err := spec.Decode(req, &ir, spec.MaxMessageBytes); err != nil { // I1
		return nil, fmt.Errorf("%w: %v", p.ErrBadInit, err)
	}
	if ir.Role != p.Role { // I2
		return nil, fmt.Errorf("%w: role %d is not %s", p.ErrBadInit, ir.Role, spec.RoleName(p.Role))
	}
	if id.inited { // I3
		return nil, fmt.Errorf("%w: Init called twice", p.ErrBadInit)
	}
	// SPEC-AMBIGUITY: §7.1 does not say what a failing randomness source means; we
	// return an error and stay uninitialised, so a later Init may still succeed.
	seed := make([]byte, 32)
	if _, err := io.ReadFull(id.rand, seed); err != nil {
		return nil, fmt.Errorf("%s: reading key seed: %w", p.Pkg, err)
	}
	key, err := NewSigner(seed)
	if err != nil {
		return nil, err
	}
	id.inited, id.key = true, key
	id.self = spec.EnrollmentBody{Role: p.Role, Replica: ir.Replica, Build: []byte(p.Name), SignKey: key.Public()}
	enr := spec.Enrollment{Body: id.self, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}}
	return spec.Encode(&enr), nil
}

// Inited reports whether Init has succeeded.
func (id *Identity) Inited() bool { return id.inited }

// Replica returns this enclave's replica id i (0 before Init).
func (id *Identity) Replica() uint64 { return id.self.Replica }

// Sign signs SignedBytes(domain, cd, enc(body)) with this enclave's key. It must
// only be called once Init has succeeded (a configured compartment always has).
func (id *Identity) Sign(domain string, cd spec.Digest, body any) spec.Signature {
	return id.key.Sign(domain, cd, body)
}

// Configure applies lines F1–F4 of SPEC.md §8.1 to m for the enclave id and returns
// the cluster of the accepted configuration and 0, or nil and bad-config. It changes
// nothing: installing the cluster and resetting the compartment's state is the
// caller's part.
func Configure(m *spec.Configure, id *Identity) (*Cluster, uint64) {
	cfg := new(spec.Config)
	if err := spec.Decode(m.Config, cfg, spec.MaxMessageBytes); err != nil { // F1
		return nil, spec.CodeBadConfig
	}
	if err := cfg.Validate(AdmitKey); err != nil { // F2
		return nil, spec.CodeBadConfig
	}
	if !id.inited || !sameEnrollment(cfg.Enrollment(id.profile.Role, id.self.Replica), &id.self) { // F3
		return nil, spec.CodeBadConfig
	}
	if len(m.Share) != 0 { // F4
		return nil, spec.CodeBadConfig
	}
	return NewCluster(cfg), 0
}

// sameEnrollment reports whether e (possibly nil) enrolls this enclave: the same role,
// replica and keys. The build name is not compared (F3): the evidence vouches for it.
func sameEnrollment(e *spec.Enrollment, self *spec.EnrollmentBody) bool {
	if e == nil {
		return false
	}
	b := &e.Body
	return b.Role == self.Role && b.Replica == self.Replica && b.SignKey == self.SignKey && b.BoxKey == self.BoxKey
}
