package gateway

import (
	"fmt"
	"io"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// BuildName is the gateway's build name in its enrollment and in build policies.
const BuildName = "gateway"

// Enrolled is what a gateway generates at start (SPEC.md §16.2): its secret client
// identities and TLS key, which never leave it, and the attestation that binds their
// public keys. Only Attestation may be shown to anyone.
type Enrolled struct {
	Identities  []client.Identity // one per client id, in the order of the ids
	TLS         *TLSIdentity
	Attestation spec.GatewayAttestation
}

// Enroll generates the identities of client ids (strictly increasing) and a TLS key
// pair whose certificate is valid for hosts, reading randomness from rand in the order
// of SPEC.md §16.2, and asks a for evidence over the gateway enrollment digest. The
// enrollment passes spec.GatewayEnrollment.Check. A dev-insecure attester gives
// dev-insecure evidence (the caller says so).
func Enroll(rand io.Reader, replica uint64, ids []uint64, hosts []string, now time.Time, a attest.Attester) (*Enrolled, error) {
	e := &Enrolled{}
	g := &e.Attestation.Enrollment
	g.Replica, g.Build = replica, []byte(BuildName)
	for _, id := range ids {
		ident, err := client.NewIdentity(id, rand)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		e.Identities = append(e.Identities, ident)
		g.ClientIDs = append(g.ClientIDs, id)
		g.SignKeys = append(g.SignKeys, ident.SignKey())
		g.BoxKeys = append(g.BoxKeys, ident.BoxKey())
	}
	tlsID, err := NewTLSIdentity(rand, hosts, now)
	if err != nil {
		return nil, err
	}
	e.TLS, g.TLSKey = tlsID, tlsID.PublicKeyDER()
	// Key admission (§3.3) is the replicas' check; a key derived from a seed passes it.
	if err := g.Check(nil); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	ev, err := attest.GatewayEvidence(a, g)
	if err != nil {
		return nil, fmt.Errorf("gateway: evidence: %w", err)
	}
	e.Attestation.Evidence = ev
	return e, nil
}
