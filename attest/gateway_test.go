package attest

import (
	"errors"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// gatewayEnrollment is replica 1's gateway with two identities.
func gatewayEnrollment() spec.GatewayEnrollment {
	return spec.GatewayEnrollment{Replica: 1, Build: []byte("gateway"), ClientIDs: []uint64{9, 10},
		SignKeys: []spec.PublicKey{{9}, {10}}, BoxKeys: []spec.PublicKey{{0x19}, {0x1a}}, TLSKey: []byte("spki")}
}

var uidGateway = measurement("mrenclave gateway v1")

// TestCheckGateway checks the binding of a gateway's evidence (SPEC.md §16.2 GW5): a
// report over another enrollment (other TLS key, other ids) or tampered evidence is
// refused, and only gateway policies admit it.
func TestCheckGateway(t *testing.T) {
	good := gatewayEnrollment()
	rep := Report{Data: GatewayReportData(&good), UniqueID: uidGateway, SignerID: signerOps, ProductID: ProductIDField(9)}
	otherTLS, otherIDs := gatewayEnrollment(), gatewayEnrollment()
	otherTLS.TLSKey = []byte("another key")
	otherIDs.ClientIDs[1] = 11
	v := &fakeVerifier{reports: map[string]Report{"quote": rep}}
	gwPolicy := spec.BuildPolicy{Role: spec.RoleGateway, Build: []byte("gateway"), UniqueID: uidGateway}
	ego := func(g spec.GatewayEnrollment, data string) *spec.GatewayAttestation {
		return &spec.GatewayAttestation{Enrollment: g, Evidence: spec.Evidence{Format: spec.EvidenceEgoSGX, Data: []byte(data)}}
	}
	dev := &spec.GatewayAttestation{Enrollment: good}
	for _, c := range []struct {
		name     string
		a        *spec.GatewayAttestation
		policies []spec.BuildPolicy
		allowDev bool
		want     string // "" = admitted
	}{
		{"admitted", ego(good, "quote"), []spec.BuildPolicy{gwPolicy}, false, ""},
		{"wrong TLS key", ego(otherTLS, "quote"), []spec.BuildPolicy{gwPolicy}, false, "does not bind this gateway enrollment"},
		{"wrong client ids", ego(otherIDs, "quote"), []spec.BuildPolicy{gwPolicy}, false, "does not bind this gateway enrollment"},
		{"tampered evidence", ego(good, "quotf"), []spec.BuildPolicy{gwPolicy}, false, "does not verify"},
		{"exec policy only", ego(good, "quote"), []spec.BuildPolicy{{Role: spec.RoleExec, Build: []byte("gateway"), UniqueID: uidGateway}}, false,
			"no build policy accepts this build for role gateway"},
		{"other measurement", ego(good, "quote"), []spec.BuildPolicy{{Role: spec.RoleGateway, Build: []byte("gateway"), UniqueID: uidConfA}}, false, "unique id"},
		{"dev-insecure allowed", dev, []spec.BuildPolicy{{Role: spec.RoleGateway, Build: []byte("gateway")}}, true, ""},
		{"dev-insecure refused", dev, []spec.BuildPolicy{{Role: spec.RoleGateway, Build: []byte("gateway")}}, false, "AllowDevInsecure is false"},
	} {
		err := CheckGateway(c.a, &spec.Config{AllowDevInsecure: c.allowDev, Builds: c.policies}, v)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", c.name, err)
			}
			continue
		}
		var ref *Refusal
		if !errors.As(err, &ref) || ref.Role != spec.RoleGateway || ref.Replica != 1 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a gateway refusal containing %q", c.name, err, c.want)
		}
	}
}

// TestGatewayEvidence checks that the attester is asked for the gateway digest.
func TestGatewayEvidence(t *testing.T) {
	v := &fakeVerifier{reports: map[string]Report{}}
	a := &recordingAttester{v: v, identity: Report{UniqueID: uidGateway}}
	g := gatewayEnrollment()
	ev, err := GatewayEvidence(a, &g)
	if err != nil {
		t.Fatal(err)
	}
	att := &spec.GatewayAttestation{Enrollment: g, Evidence: ev}
	pol := &spec.Config{Builds: []spec.BuildPolicy{{Role: spec.RoleGateway, Build: []byte("gateway"), UniqueID: uidGateway}}}
	if err := CheckGateway(att, pol, v); err != nil {
		t.Fatalf("evidence from GatewayEvidence refused: %v", err)
	}
}
