package agreea

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/spec"
)

// CheckInit applies I1–I3 (SPEC.md §7.1) to the InitRequest req of a prep or conf of
// role that has (inited) or has not yet had a successful Init. It returns the
// request's replica id, or the reason req fails, which the caller reports as
// bad-init.
func CheckInit(req []byte, role spec.Role, inited bool) (uint64, error) {
	// SPEC-AMBIGUITY: §2.4 lists no cap for an InitRequest; we use the cap of "every
	// other kind" (48 MiB). §7.1 I3 says "Init has not been called before"; we count
	// only a successful Init as called, since a rejected input changes no state.
	var r spec.InitRequest
	if err := spec.Decode(req, &r, spec.MaxMessageBytes); err != nil {
		return 0, err // I1
	}
	if r.Role != role {
		return 0, fmt.Errorf("role %d is not %s", r.Role, spec.RoleName(role)) // I2
	}
	if inited {
		return 0, errors.New("second Init call") // I3
	}
	return r.Replica, nil
}

// Enroll creates the identity of the prep or conf of role at replica with build name
// build (§7.1): it reads exactly 32 bytes from rand, the key seed (§3.5), and returns
// the key, the EnrollmentBody (BoxKey zero) and the encoded Enrollment with
// dev-insecure evidence (attestation is added outside, §7.2). It fails only if rand
// does.
func Enroll(rand io.Reader, role spec.Role, replica uint64, build string) (SigningKey, spec.EnrollmentBody, []byte, error) {
	key, err := GenerateKey(rand)
	if err != nil {
		return SigningKey{}, spec.EnrollmentBody{}, nil, err
	}
	self := spec.EnrollmentBody{Role: role, Replica: replica, Build: []byte(build), SignKey: key.Public()}
	enr := spec.Encode(&spec.Enrollment{Body: self, Evidence: spec.Evidence{Format: spec.EvidenceDevInsecure}})
	return key, self, enr, nil
}

// CheckConfigure applies F1–F4 (§8.1) to a configure input m at a prep or conf whose
// identity is self, valid only if inited (a successful Init). It returns the accepted
// configuration, or the reject code bad-config; it changes nothing.
func CheckConfigure(m *spec.Configure, inited bool, self *spec.EnrollmentBody) (*spec.Config, uint64) {
	var cfg spec.Config
	// F1: the nested Config has the cap of the configure body (48 MiB, §8.1).
	if err := spec.Decode(m.Config, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, spec.CodeBadConfig // F1
	}
	if err := cfg.Validate(AdmitKey); err != nil {
		return nil, spec.CodeBadConfig // F2
	}
	if !inited || !isOwnEnrollment(&cfg, self) {
		return nil, spec.CodeBadConfig // F3
	}
	if len(m.Share) != 0 {
		return nil, spec.CodeBadConfig // F4
	}
	return &cfg, 0
}

// isOwnEnrollment reports whether cfg enrolls self at its role and replica: same
// role, replica, signing key and box key (F3; the build name is not compared, it is
// vouched for by the evidence, SPEC.md §7.3).
func isOwnEnrollment(cfg *spec.Config, self *spec.EnrollmentBody) bool {
	e := cfg.Enrollment(self.Role, self.Replica)
	return e != nil && e.Body.Role == self.Role && e.Body.Replica == self.Replica &&
		e.Body.SignKey == self.SignKey && e.Body.BoxKey == self.BoxKey
}
