package gateway

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/attest/gatewaycert"
	"github.com/splitbft/splitbft/spec"
)

// reportAttester plays EGo: its evidence is the report data it was asked for, and
// its verifier returns a report with that data (padded as GetRemoteReport pads it).
type reportAttester struct{}

func (reportAttester) Evidence(d [64]byte) (spec.Evidence, error) {
	return spec.Evidence{Format: spec.EvidenceEgoSGX, Data: d[:]}, nil
}

var uidGateway = make([]byte, 32)

func reportVerifier(ev []byte) (attest.Report, error) {
	return attest.Report{Data: append([]byte{}, ev...), UniqueID: uidGateway}, nil
}

// TestEnrollBinds checks what Enroll produces (SPEC.md §16.2): the enrollment names
// the identities' public keys and the certificate's key, its evidence binds it, and
// the binding fails for another TLS key, other client ids and tampered evidence.
func TestEnrollBinds(t *testing.T) {
	const seed = 1602
	rnd := seeded{rand.NewChaCha8([32]byte{byte(seed & 0xff), byte(seed >> 8)})}
	e, err := Enroll(rnd, 2, []uint64{17, 18, 40}, []string{"127.0.0.1"}, time.Unix(1.7e9, 0), reportAttester{})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	g := &e.Attestation.Enrollment
	if g.Replica != 2 || string(g.Build) != BuildName || len(e.Identities) != 3 {
		t.Fatalf("seed %d: enrollment %+v, %d identities", seed, g, len(e.Identities))
	}
	for k, id := range e.Identities {
		if g.Registrations()[k] != id.Registration() {
			t.Errorf("seed %d: identity %d is not registered as generated", seed, id.ID)
		}
	}
	pol := &spec.Config{Builds: []spec.BuildPolicy{{Role: spec.RoleGateway, Build: []byte(BuildName), UniqueID: uidGateway}}}
	v := attest.VerifierFunc(reportVerifier)
	if err := attest.CheckGateway(&e.Attestation, pol, v); err != nil {
		t.Fatalf("seed %d: own attestation refused: %v", seed, err)
	}
	if err := gatewaycert.Check(g, e.TLS.der); err != nil {
		t.Fatalf("seed %d: own certificate refused: %v", seed, err)
	}
	other, err := NewTLSIdentity(rnd, []string{"127.0.0.1"}, time.Unix(1.7e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := gatewaycert.Check(g, other.der); err == nil || !strings.Contains(err.Error(), "not the attested TLS key") {
		t.Errorf("seed %d: another key's certificate: %v", seed, err)
	}
	for name, mod := range map[string]func(a *spec.GatewayAttestation){
		"wrong TLS key":     func(a *spec.GatewayAttestation) { a.Enrollment.TLSKey = other.PublicKeyDER() },
		"wrong client ids":  func(a *spec.GatewayAttestation) { a.Enrollment.ClientIDs = []uint64{17, 18, 41} },
		"tampered evidence": func(a *spec.GatewayAttestation) { a.Evidence.Data[3] ^= 1 },
	} {
		a := spec.GatewayAttestation{}
		if err := spec.Decode(spec.Encode(&e.Attestation), &a, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		mod(&a)
		if err := attest.CheckGateway(&a, pol, v); err == nil || !strings.Contains(err.Error(), "does not bind this gateway enrollment") {
			t.Errorf("seed %d: %s: %v", seed, name, err)
		}
	}
}
