package attest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Refusal is the error of an enrollment that is not admitted. It names the enrollment
// (replica, role, build) and says exactly what did not match.
type Refusal struct {
	Replica uint64
	Role    spec.Role
	Build   string
	Reason  string // the exact mismatch, e.g. "signer id 1a2b…, policy 3 wants 9f8e…"
	Err     error  // the underlying error (a Verifier's), or nil
}

// Error returns "attest: replica R role build "B": reason".
func (r *Refusal) Error() string {
	return fmt.Sprintf("attest: replica %d %s build %q: %s", r.Replica, spec.RoleName(r.Role), r.Build, r.Reason)
}

// Unwrap returns the underlying error, so that errors.Is(err, ErrNoVerifier) works.
func (r *Refusal) Unwrap() error { return r.Err }

// CheckEnrollment decides whether cfg admits enrollment e (SPEC.md §7.2, §7.3). It
// returns nil or a *Refusal:
//
//   - dev-insecure evidence is admitted only if cfg.AllowDevInsecure, only with empty
//     Data, and only for a build that some BuildPolicy accepts for e's role;
//   - ego-sgx evidence is admitted when v verifies it, its report data is ReportData
//     of e's body (the enrollment digest and 32 zero bytes), it is not a debug enclave
//     (unless cfg.AllowDevInsecure: a debug enclave protects no more than no enclave),
//     and some BuildPolicy with e's role and build matches the report: its UniqueID if
//     set, otherwise its SignerID, its ProductID (compared with the report's 16-bit
//     ISVPRODID, see ProductID) and SecurityVersion ≥ MinSVN;
//   - every other format is refused.
//
// cfg must not be nil. A nil v refuses ego-sgx evidence with ErrNoVerifier. cfg is not validated here
// (Config.Validate does that). It is CheckEnrollmentFor with the all-zero challenge
// (an enclave started when the cluster formed, SPEC.md §7.1).
func CheckEnrollment(e spec.Enrollment, cfg *spec.Config, v Verifier) error {
	_, err := checkEnrollment(&e, cfg, v, spec.Digest{})
	return err
}

// CheckEnrollmentFor is CheckEnrollment for an enclave started with InitRequest.Challenge
// challenge: an ego-sgx report must carry ReportDataFor(e's body, challenge), the
// enrollment digest followed by the challenge (SPEC.md §7.2; rule AT3 of §17.5, where
// the challenge is the digest of the current epoch).
func CheckEnrollmentFor(e *spec.Enrollment, cfg *spec.Config, v Verifier, challenge spec.Digest) error {
	_, err := checkEnrollment(e, cfg, v, challenge)
	return err
}

// checkEnrollment is CheckEnrollmentFor that also returns the accepted report (the zero
// Report for dev-insecure evidence).
func checkEnrollment(e *spec.Enrollment, cfg *spec.Config, v Verifier, challenge spec.Digest) (Report, error) {
	return checkClaim(&claim{replica: e.Body.Replica, role: e.Body.Role, build: e.Body.Build,
		data: ReportDataFor(&e.Body, challenge), what: "enrollment", ev: &e.Evidence}, cfg, v)
}

// claim is what evidence must show: an enclave of a build, for a role at a replica,
// whose report data is data (a compartment's enrollment digest then its Init challenge,
// or a gateway's enrollment digest then 32 zero bytes).
type claim struct {
	replica uint64
	role    spec.Role
	build   []byte
	data    []byte
	what    string // "enrollment" or "gateway enrollment", for refusals
	ev      *spec.Evidence
}

// checkClaim applies SPEC.md §7.2 and §7.3 to c's evidence.
func checkClaim(c *claim, cfg *spec.Config, v Verifier) (Report, error) {
	refuse := func(err error, format string, a ...any) (Report, error) {
		return Report{}, &Refusal{Replica: c.replica, Role: c.role, Build: string(c.build),
			Reason: fmt.Sprintf(format, a...), Err: err}
	}
	switch c.ev.Format {
	case spec.EvidenceDevInsecure:
		switch {
		case !cfg.AllowDevInsecure:
			return refuse(nil, "dev-insecure evidence (no TEE), but the configuration does not allow it (AllowDevInsecure is false)")
		case len(c.ev.Data) != 0: // §7.2: Data is empty (Config.Validate does not check it; this does).
			return refuse(nil, "dev-insecure evidence must carry no data, it carries %d bytes", len(c.ev.Data))
		case !cfg.BuildAccepted(c.role, c.build):
			return refuse(nil, "no build policy accepts this build for role %s", spec.RoleName(c.role))
		}
		return Report{}, nil
	case spec.EvidenceEgoSGX:
		return checkEgo(c, cfg, v, refuse)
	}
	return refuse(nil, "unknown evidence format %d", c.ev.Format)
}

type refuseFunc func(err error, format string, a ...any) (Report, error)

// checkEgo checks ego-sgx evidence: policies exist, the report verifies, binds the
// claim, is not a debug enclave, and matches a policy.
func checkEgo(c *claim, cfg *spec.Config, v Verifier, refuse refuseFunc) (Report, error) {
	policies := policiesFor(cfg, c.role, c.build)
	if len(policies) == 0 {
		return refuse(nil, "no build policy accepts this build for role %s", spec.RoleName(c.role))
	}
	if v == nil {
		return refuse(ErrNoVerifier, "ego-sgx report not verified: %v", ErrNoVerifier)
	}
	rep, err := v.Verify(c.ev.Data)
	if err != nil {
		return refuse(err, "ego-sgx report does not verify: %v", err)
	}
	// §7.2: SGX report data is 64 bytes and EGo pads shorter data with zeros: the
	// whole 64 bytes must be the digest and the challenge (zero for a gateway), so nothing else rides along.
	if !bytes.Equal(rep.Data, c.data) {
		return refuse(nil, "ego-sgx report data %x does not bind this %s: want %x (its digest, then the challenge or 32 zero bytes)", rep.Data, c.what, c.data)
	}
	// §7.3: debug enclaves are refused unless dev-insecure is allowed. Their host can read their
	// memory, so they protect no more than dev-insecure and are admitted only where that is.
	if rep.Debug && !cfg.AllowDevInsecure {
		return refuse(nil, "ego-sgx report is from a DEBUG enclave, whose memory its host can read; refused unless the configuration allows dev-insecure evidence")
	}
	var misses []string
	for _, i := range policies {
		miss := matchPolicy(&cfg.Builds[i], &rep)
		if miss == "" {
			return rep, nil
		}
		misses = append(misses, fmt.Sprintf("policy %d: %s", i, miss))
	}
	return refuse(nil, "ego-sgx report matches no build policy for it: %s", strings.Join(misses, "; "))
}

// policiesFor returns the indexes in cfg.Builds of the policies for role and build.
func policiesFor(cfg *spec.Config, role spec.Role, build []byte) []int {
	var out []int
	for i := range cfg.Builds {
		if cfg.Builds[i].Role == role && bytes.Equal(cfg.Builds[i].Build, build) {
			out = append(out, i)
		}
	}
	return out
}

// matchPolicy returns "" if the report matches policy p (SPEC.md §7.3), and otherwise
// every mismatch, comma-separated.
func matchPolicy(p *spec.BuildPolicy, rep *Report) string {
	if len(p.UniqueID) != 0 {
		if !bytes.Equal(rep.UniqueID, p.UniqueID) {
			return fmt.Sprintf("unique id %x, want %x", rep.UniqueID, p.UniqueID)
		}
		return ""
	}
	// §7.3: a policy with neither id never matches ego-sgx evidence (§7.3
	// read literally: an empty SignerID never equals a report's 32-byte signer id).
	if len(p.SignerID) == 0 {
		return "the policy has neither a unique id nor a signer id, so it admits dev-insecure evidence only"
	}
	var misses []string
	if !bytes.Equal(rep.SignerID, p.SignerID) {
		misses = append(misses, fmt.Sprintf("signer id %x, want %x", rep.SignerID, p.SignerID))
	}
	// §7.3: BuildPolicy.ProductID is a uint64, SGX's ISVPRODID 16 bits in a
	// 16-byte field (see ProductID); a policy value above 65535 matches no report.
	if id, ok := ProductID(rep.ProductID); !ok {
		misses = append(misses, fmt.Sprintf("product id field %x is not a 16-bit ISVPRODID in 16 little-endian bytes", rep.ProductID))
	} else if uint64(id) != p.ProductID {
		misses = append(misses, fmt.Sprintf("product id %d, want %d", id, p.ProductID))
	}
	if uint64(rep.SecurityVersion) < p.MinSVN {
		misses = append(misses, fmt.Sprintf("security version %d, want at least %d", rep.SecurityVersion, p.MinSVN))
	}
	return strings.Join(misses, ", ")
}
