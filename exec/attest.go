package exec

import (
	"errors"

	"github.com/splitbft/splitbft/spec"
)

// This file is the attest input (SPEC.md §17.5, rules AT1–AT3): an exec checks the
// enrollment and evidence of a freshly started enclave against the current
// configuration and, if admitted, signs an ATTESTATION.

// EvidenceCheck decides rule AT3 for an enrollment under cfg: nil when its evidence is
// admitted for its role under cfg.Builds and cfg.AllowDevInsecure (§7.3) and, for
// ego-sgx, its report data is the enrollment digest followed by challenge (the digest
// of the current epoch). It must not change cfg.
type EvidenceCheck func(e *spec.Enrollment, cfg *spec.Config, challenge spec.Digest) error

// Option configures an Exec at New.
type Option func(*Exec)

// WithEvidenceCheck makes check decide rule AT3 (the exec binary passes
// attest.CheckEnrollmentFor with the enclave's report verifier). Without this option
// an Exec has no report verifier: it admits dev-insecure evidence as §7.3 does and
// refuses all ego-sgx evidence.
func WithEvidenceCheck(check EvidenceCheck) Option {
	return func(e *Exec) { e.checkEvidence = check }
}

// noVerifierCheck is the default EvidenceCheck: §7.3 for dev-insecure evidence (the
// configuration allows it, Data is empty, a policy accepts the build for the role);
// every other format refused. (This package does not import package attest: attest's
// tests build clusters of compartments, exec among them.)
func noVerifierCheck(en *spec.Enrollment, cfg *spec.Config, _ spec.Digest) error {
	switch {
	case en.Evidence.Format != spec.EvidenceDevInsecure:
		return errors.New("exec: no report verifier for this evidence format")
	case !cfg.AllowDevInsecure || len(en.Evidence.Data) != 0:
		return errors.New("exec: dev-insecure evidence not allowed, or not empty")
	case !cfg.BuildAccepted(en.Body.Role, en.Body.Build):
		return errors.New("exec: build not accepted for the role")
	}
	return nil
}

// onAttest handles an attest input (AT1–AT3) and emits the ATTESTATION; it changes no
// state.
func (e *Exec) onAttest(en *spec.Enrollment) uint64 {
	switch {
	case !e.wellFormedEnrollment(&en.Body): // AT1
		return spec.CodeBadConfig
	case hasKeyOf(e.cfg, &en.Body): // AT2
		return spec.CodeDuplicate
	case e.checkEvidence(en, e.cfg, e.cd) != nil: // AT3
		return spec.CodeBadEvidence
	}
	body := spec.AttestationBody{Enrollment: spec.EnrollmentDigest(&en.Body), Replica: e.replica}
	a := spec.Attestation{Body: body, Sig: e.signKey.sign(spec.DomainAttest, e.cd, spec.Encode(&body))}
	e.emit(spec.KindAttestation, spec.Destination{}, spec.Encode(&a))
	return 0
}
