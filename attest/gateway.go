package attest

import (
	"github.com/splitbft/splitbft/spec"
)

// GatewayReportData returns the 64-byte report data that an ego-sgx report of a
// gateway enrollment must carry (SPEC.md §16.2): its digest
// (spec.GatewayEnrollmentDigest) followed by 32 zero bytes.
func GatewayReportData(g *spec.GatewayEnrollment) []byte {
	d := spec.GatewayEnrollmentDigest(g)
	out := make([]byte, reportDataLen)
	copy(out, d[:])
	return out
}

// CheckGateway decides whether policy admits the gateway attestation a (SPEC.md
// §16.2 GW5): its evidence is checked as CheckEnrollment checks a compartment's (§7.2,
// §7.3), for role spec.RoleGateway and a's build, against the policies in
// policy.Builds whose Role is spec.RoleGateway, with GatewayReportData as the report
// data. It returns nil or a *Refusal. It does not check the enrollment's shape
// (spec.GatewayEnrollment.Check) nor which client ids it may hold (the template's).
func CheckGateway(a *spec.GatewayAttestation, policy *spec.Config, v Verifier) error {
	g := &a.Enrollment
	_, err := checkClaim(&claim{replica: g.Replica, role: spec.RoleGateway, build: g.Build,
		data: GatewayReportData(g), what: "gateway enrollment", ev: &a.Evidence}, policy, v)
	return err
}

// GatewayEvidence returns a's evidence for g (SPEC.md §16.2): over the digest of g.
// It is what the gateway binary calls inside its enclave; a DevInsecure attester gives
// dev-insecure evidence.
func GatewayEvidence(a Attester, g *spec.GatewayEnrollment) (spec.Evidence, error) {
	var data [64]byte
	copy(data[:], GatewayReportData(g)) // the digest, then 32 zero bytes
	return a.Evidence(data)
}
