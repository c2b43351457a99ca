package attest

import (
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Attester produces the evidence of an enrollment inside the compartment binary
// (SPEC.md §7.2). TRUSTED: it runs inside the enclave.
type Attester interface {
	// Evidence returns evidence whose 64-byte report data is reportData (the
	// enrollment digest followed by the Init challenge, SPEC.md §7.2). An
	// implementation returns ego-sgx evidence only when it runs inside an enclave,
	// after a self-report succeeded.
	Evidence(reportData [64]byte) (spec.Evidence, error)
}

// DevInsecure is the Attester of a process outside any enclave: its evidence is
// dev-insecure with empty data (no TEE protection). Why is empty in a build that is not
// meant for an enclave; in an enclave build that finds itself outside an enclave, it
// says why, and the binary warns about it.
type DevInsecure struct{ Why string }

// Evidence returns dev-insecure evidence.
func (DevInsecure) Evidence([64]byte) (spec.Evidence, error) {
	return spec.Evidence{Format: spec.EvidenceDevInsecure}, nil
}

// Attach returns enrollment (the encoded spec.Enrollment that a compartment's Init
// returned) with its dev-insecure evidence replaced by a's evidence over the
// enrollment digest and challenge (the InitRequest's Challenge; SPEC.md §3.2, §7.2).
// The body is never changed. It returns
// enrollment unchanged when a gives dev-insecure evidence, or when the enrollment
// already carries other evidence. On error (the enrollment does not decode, or a
// fails) it returns enrollment unchanged together with the error, so that the caller
// can go on with the weaker evidence and say so.
func Attach(a Attester, enrollment []byte, challenge spec.Digest) ([]byte, error) {
	var e spec.Enrollment
	if err := spec.Decode(enrollment, &e, spec.MaxMessageBytes); err != nil {
		return enrollment, fmt.Errorf("attest: the compartment's enrollment does not decode: %w", err)
	}
	if e.Evidence.Format != spec.EvidenceDevInsecure || len(e.Evidence.Data) != 0 {
		return enrollment, nil
	}
	var data [64]byte
	copy(data[:], ReportDataFor(&e.Body, challenge))
	ev, err := a.Evidence(data)
	if err != nil {
		return enrollment, fmt.Errorf("attest: no evidence for the enrollment: %w", err)
	}
	if ev.Format == spec.EvidenceDevInsecure {
		return enrollment, nil
	}
	e.Evidence = ev
	return spec.Encode(&e), nil
}
