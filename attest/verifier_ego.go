//go:build egoverify && !enclave

package attest

import (
	"errors"
	"fmt"

	"github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/eclient"
)

// DefaultVerifier returns EGo's host-side verifier, eclient.VerifyRemoteReport (this
// build has the "egoverify" tag and links Open Enclave's host-verification library).
// A report whose platform TCB level is not up to date is refused: EGo reports it as
// attestation.ErrTCBLevelInvalid, which Verify returns as an error naming the status.
func DefaultVerifier() Verifier { return VerifierFunc(egoVerify) }

// SPEC.md §7.3: a report that EGo does not consider up to date (ErrTCBLevelInvalid)
// is refused.

func egoVerify(evidence []byte) (Report, error) {
	r, err := eclient.VerifyRemoteReport(evidence)
	if errors.Is(err, attestation.ErrTCBLevelInvalid) {
		return Report{}, fmt.Errorf("%w: platform TCB status %v", err, r.TCBStatus)
	}
	if err != nil {
		return Report{}, err
	}
	return Report{Data: r.Data, SecurityVersion: r.SecurityVersion, Debug: r.Debug, UniqueID: r.UniqueID,
		SignerID: r.SignerID, ProductID: r.ProductID, TCBStatus: int(r.TCBStatus)}, nil
}
