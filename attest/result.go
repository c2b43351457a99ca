package attest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Result is the outcome of checking one enrollment of a configuration.
type Result struct {
	Replica uint64
	Role    spec.Role
	Build   string
	Format  uint64 // the evidence format (spec.EvidenceDevInsecure or spec.EvidenceEgoSGX, or unknown)
	Debug   bool   // an admitted ego-sgx report is from a debug enclave (only when AllowDevInsecure)
	Err     error  // nil if admitted, else a *Refusal
}

// State describes the result for operators: "ego-sgx verified", "ego-sgx verified,
// DEBUG enclave (NO TEE protection)", "dev-insecure (NO TEE)", or "REJECTED: " and the
// reason.
func (r Result) State() string {
	switch {
	case r.Err != nil:
		var ref *Refusal
		if errors.As(r.Err, &ref) {
			return "REJECTED: " + ref.Reason
		}
		return "REJECTED: " + r.Err.Error()
	case r.Format == spec.EvidenceEgoSGX && r.Debug:
		return "ego-sgx verified, DEBUG enclave (NO TEE protection)"
	case r.Format == spec.EvidenceEgoSGX:
		return "ego-sgx verified"
	}
	return "dev-insecure (NO TEE)"
}

// CheckConfig runs CheckEnrollment (the all-zero challenge of a forming cluster) on
// every enrollment of cfg, replica by replica in
// the order prep, conf, exec, and returns one Result each.
func CheckConfig(cfg *spec.Config, v Verifier) []Result {
	var out []Result
	for i := range cfg.Replicas {
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			e := cfg.Enrollment(role, uint64(i))
			rep, err := checkEnrollment(e, cfg, v, spec.Digest{})
			out = append(out, Result{Replica: uint64(i), Role: role, Build: string(e.Body.Build),
				Format: e.Evidence.Format, Debug: err == nil && rep.Debug, Err: err})
		}
	}
	return out
}

// Rejected returns nil if every result was admitted, and otherwise all the refusals
// joined (errors.Join).
func Rejected(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// InsecureWarning returns "" unless some enrollment of cfg has dev-insecure evidence;
// then a loud multi-line warning (ending in a newline) that names those enclaves. Every
// tool that starts or joins such a cluster must show it (SPEC.md §7.2).
func InsecureWarning(cfg *spec.Config) string {
	var lines []string
	count, total := 0, 0
	for i := range cfg.Replicas {
		var names []string
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
			total++
			if e := cfg.Enrollment(role, uint64(i)); e.Evidence.Format == spec.EvidenceDevInsecure {
				count++
				names = append(names, fmt.Sprintf("%s (%s)", spec.RoleName(role), e.Body.Build))
			}
		}
		if len(names) > 0 {
			lines = append(lines, fmt.Sprintf("!!!   replica %d: %s", i, strings.Join(names, ", ")))
		}
	}
	if count == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("!!! WARNING: NO TEE PROTECTION\n")
	fmt.Fprintf(&b, "!!! %d of %d compartments of cluster %q run WITHOUT AN ENCLAVE (dev-insecure evidence):\n", count, total, cfg.Name)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("!!! Their hosts can read and change their keys, their state and the clients' data.\n")
	if cfg.AllowDevInsecure {
		b.WriteString("!!! The configuration allows dev-insecure evidence, so it admits debug enclaves too.\n")
	} else {
		b.WriteString("!!! The configuration does not allow dev-insecure evidence: it is invalid as it stands.\n")
	}
	b.WriteString("!!! Use such a cluster for development and testing only.\n")
	return b.String()
}
