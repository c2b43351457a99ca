package enclavemain

import (
	"fmt"
	"io"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/spec"
)

// withEvidence returns c with a's evidence attached to its enrollment (SPEC.md §7.2).
// A dev-insecure attester leaves c as it is; if it carries a reason (an enclave build
// running outside an enclave), a warning says so on stderr first.
func withEvidence(name string, c spec.Compartment, a attest.Attester, stderr io.Writer) spec.Compartment {
	if d, ok := a.(attest.DevInsecure); ok {
		if d.Why != "" {
			fmt.Fprintf(stderr, "%s: WARNING: %s; the enrollment carries dev-insecure evidence (NO TEE protection)\n", name, d.Why)
		}
		return c
	}
	return &attested{Compartment: c, a: a, name: name, stderr: stderr}
}

// attested is a compartment whose successful Init answer gets the attester's evidence.
type attested struct {
	spec.Compartment
	a      attest.Attester
	name   string
	stderr io.Writer
}

// Init calls the compartment's Init and attaches the evidence, whose report data is
// the enrollment digest followed by the InitRequest's Challenge (SPEC.md §7.2). If no evidence can be
// had (for example no quote provider, or simulation mode), the enrollment keeps its
// dev-insecure evidence, which a configuration refuses unless it allows dev-insecure,
// and a warning on stderr says why: the compartment has already generated its keys and
// cannot be asked again (SPEC.md §7.1, I3).
func (c *attested) Init(req []byte) ([]byte, error) {
	enr, err := c.Compartment.Init(req)
	if err != nil {
		return nil, err
	}
	var r spec.InitRequest
	if err := spec.Decode(req, &r, spec.MaxInitBytes); err != nil {
		// Unreachable: the compartment's Init accepted req (rule I1), so it decodes.
		return nil, fmt.Errorf("%s: init request does not decode: %w", c.name, err)
	}
	out, err := attest.Attach(c.a, enr, r.Challenge)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: WARNING: %v; the enrollment carries dev-insecure evidence (NO TEE protection)\n", c.name, err)
	}
	return out, nil
}
