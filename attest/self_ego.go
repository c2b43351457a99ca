//go:build enclave

package attest

import (
	"fmt"

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
