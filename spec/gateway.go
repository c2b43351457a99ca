package spec

import "fmt"

// This file is the gateway's enrollment (SPEC.md §16.2): the client identities and
// TLS key a gateway generates inside its enclave, and the evidence that binds them.

// RoleGateway names the gateway in build policies and in refusals (SPEC.md §16.2). It
// is not a compartment role: Config.Builds never holds it (Config.Validate refuses
// a policy for any role but prep, conf and exec); the gateway's
// policies live in the operator's template and are checked by package attest.
const RoleGateway Role = 3

// DomainGatewayEnrollment separates the digest a gateway's evidence binds.
const DomainGatewayEnrollment = "splitbft/v1/gateway-enrollment"

// Limits of a GatewayEnrollment (SPEC.md §16.2 GW2, GW4).
const (
	MaxGatewayClients = 256 // client identities per gateway
	MaxTLSKeyBytes    = 256 // DER SubjectPublicKeyInfo of the TLS key (P-256: 91 bytes)
)

// GatewayEnrollment is what a gateway attests to (SPEC.md §16.2): the replica it
// serves, its build name, its client identities (ids ascending, with the Ed25519
// and X25519 public keys of each at the same index) and the public key of its TLS
// certificate. Every secret key stays inside the gateway.
type GatewayEnrollment struct {
	_         struct{} `cbor:",toarray"`
	Replica   uint64
	Build     []byte      // build name, e.g. "gateway"; 1..64 bytes of [a-z0-9.-]
	ClientIDs []uint64    // strictly increasing, 1..MaxGatewayClients
	SignKeys  []PublicKey // Ed25519, SignKeys[i] is ClientIDs[i]'s
	BoxKeys   []PublicKey // X25519, BoxKeys[i] is ClientIDs[i]'s
	TLSKey    []byte      // DER SubjectPublicKeyInfo of the TLS key, 1..MaxTLSKeyBytes
}

// GatewayAttestation is a gateway's enrollment with its evidence (SPEC.md §16.2): what
// a replica serves at GET /gateway-enrollment.
type GatewayAttestation struct {
	_          struct{} `cbor:",toarray"`
	Enrollment GatewayEnrollment
	Evidence   Evidence
}

// GatewayEnrollmentDigest returns Hash(DomainGatewayEnrollment, Encode(g)): the report
// data (then 32 zero bytes) of the gateway's ego-sgx evidence.
func GatewayEnrollmentDigest(g *GatewayEnrollment) Digest {
	return Hash(DomainGatewayEnrollment, Encode(g))
}

// Registrations returns the ClientConfigs that register g's identities.
func (g *GatewayEnrollment) Registrations() []ClientConfig {
	out := make([]ClientConfig, len(g.ClientIDs))
	for i, id := range g.ClientIDs {
		out[i] = ClientConfig{ID: id, SignKey: g.SignKeys[i], BoxKey: g.BoxKeys[i]}
	}
	return out
}

// Check applies rules GW1–GW4 of SPEC.md §16.2 to g, using admit for Ed25519 key
// admission (§3.3; nil skips it). It does not look at evidence (package attest does).
func (g *GatewayEnrollment) Check(admit KeyAdmitter) error {
	n := len(g.ClientIDs)
	switch {
	case !ValidBuildName(g.Build):
		return fmt.Errorf("spec: gateway enrollment: bad build name %q", g.Build)
	case n == 0 || n > MaxGatewayClients:
		return fmt.Errorf("spec: gateway enrollment: %d client identities, want 1..%d", n, MaxGatewayClients)
	case len(g.SignKeys) != n || len(g.BoxKeys) != n:
		return fmt.Errorf("spec: gateway enrollment: %d client ids, %d sign keys, %d box keys", n, len(g.SignKeys), len(g.BoxKeys))
	case len(g.TLSKey) == 0 || len(g.TLSKey) > MaxTLSKeyBytes:
		return fmt.Errorf("spec: gateway enrollment: TLS key of %d bytes, want 1..%d", len(g.TLSKey), MaxTLSKeyBytes)
	}
	for i := range g.ClientIDs {
		if i > 0 && g.ClientIDs[i] <= g.ClientIDs[i-1] {
			return fmt.Errorf("spec: gateway enrollment: client ids not strictly increasing at index %d", i)
		}
		if g.BoxKeys[i] == (PublicKey{}) {
			return fmt.Errorf("spec: gateway enrollment: client %d has a zero box key", g.ClientIDs[i])
		}
		if admit != nil && !admit(g.SignKeys[i]) {
			return fmt.Errorf("spec: gateway enrollment: client %d: signing key not admitted (§3.3)", g.ClientIDs[i])
		}
	}
	if dupKey(g.SignKeys) || dupKey(g.BoxKeys) {
		return fmt.Errorf("spec: gateway enrollment: a key is used twice")
	}
	return nil
}

// dupKey reports whether two of keys are equal.
func dupKey(keys []PublicKey) bool {
	seen := make(map[PublicKey]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// SameKeys reports whether cfg registers exactly g's identities: every client id of g
// is in cfg.Clients with g's keys.
func (g *GatewayEnrollment) SameKeys(cfg *Config) bool {
	for _, want := range g.Registrations() {
		got := cfg.Client(want.ID)
		if got == nil || *got != want {
			return false
		}
	}
	return true
}
