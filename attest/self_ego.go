//go:build enclave

package attest

import (
	"errors"
	"fmt"

	"github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/enclave"
	"github.com/splitbft/splitbft/spec"
)

// SelfAttester returns the Attester of this enclave build. It asks EGo for a
// self-report: if that succeeds the process runs inside an enclave and the Attester
// produces ego-sgx evidence with enclave.GetRemoteReport; if not (the binary was
// started outside EGo, where the call fails with OE_UNSUPPORTED), it returns
// DevInsecure with the reason.
func SelfAttester() Attester {
	if _, err := enclave.GetSelfReport(); err != nil {
		return DevInsecure{Why: fmt.Sprintf("enclave build, but the EGo self-report failed (%v): not inside an enclave", err)}
	}
	return egoAttester{}
}

// egoAttester produces ego-sgx evidence. It exists only after a self-report succeeded.
type egoAttester struct{}

// Evidence returns an EGo remote report whose 64-byte report data is reportData.
func (egoAttester) Evidence(reportData [64]byte) (spec.Evidence, error) {
	report, err := enclave.GetRemoteReport(reportData[:])
	if err != nil {
		return spec.Evidence{}, fmt.Errorf("EGo GetRemoteReport: %w", err)
	}
	return spec.Evidence{Format: spec.EvidenceEgoSGX, Data: report}, nil
}

// EnclaveVerifier returns the Verifier an enclave uses to check another enclave's
// report (an exec's rule AT3, SPEC.md §17.5): EGo's enclave.VerifyRemoteReport. Like
// DefaultVerifier it refuses a report whose platform TCB level is not up to date.
func EnclaveVerifier() Verifier { return VerifierFunc(enclaveVerify) }

func enclaveVerify(evidence []byte) (Report, error) {
	r, err := enclave.VerifyRemoteReport(evidence)
	if errors.Is(err, attestation.ErrTCBLevelInvalid) {
		return Report{}, fmt.Errorf("%w: platform TCB status %v", err, r.TCBStatus)
	}
	if err != nil {
		return Report{}, err
	}
	return Report{Data: r.Data, SecurityVersion: r.SecurityVersion, Debug: r.Debug, UniqueID: r.UniqueID,
		SignerID: r.SignerID, ProductID: r.ProductID, TCBStatus: int(r.TCBStatus)}, nil
}
