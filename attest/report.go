package attest

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/splitbft/splitbft/spec"
)

// Report is the attested part of a verified EGo remote report. It mirrors
// github.com/edgelesssys/ego/attestation.Report (v1.9.0) field by field, so that this
// package and its tests need no EGo code.
type Report struct {
	Data            []byte // the report data: 64 bytes in an SGX report (SGX REPORTDATA)
	SecurityVersion uint   // ISVSVN, from enclave.json "securityVersion"
	Debug           bool   // the enclave was launched in debug mode: the host can read its memory
	UniqueID        []byte // MRENCLAVE, 32 bytes: the measurement of the enclave's code and configuration
	SignerID        []byte // MRSIGNER, 32 bytes: the hash of the signing key's modulus
	ProductID       []byte // ISVPRODID: 16 bytes, a 16-bit little-endian value followed by 14 zero bytes
	TCBStatus       int    // EGo's tcbstatus.Status of the platform; 0 is UpToDate
}

// Verifier checks an EGo remote report's signature chain up to the platform vendor's
// root and returns the report's attested fields. It says nothing about whether those
// fields are acceptable: that is CheckEnrollment's job. An error means the report
// cannot be trusted at all.
type Verifier interface {
	Verify(evidence []byte) (Report, error)
}

// VerifierFunc adapts a function to the Verifier interface.
type VerifierFunc func(evidence []byte) (Report, error)

// Verify calls f.
func (f VerifierFunc) Verify(evidence []byte) (Report, error) { return f(evidence) }

// ErrNoVerifier is returned by the Verifier of a build that cannot verify EGo reports
// (built without the "egoverify" tag, see the package documentation).
var ErrNoVerifier = errors.New("ego-sgx evidence cannot be verified in this build")

// noVerifier refuses every report with ErrNoVerifier.
type noVerifier struct{}

func (noVerifier) Verify([]byte) (Report, error) { return Report{}, ErrNoVerifier }

// reportDataLen is the size of SGX report data. EGo's GetRemoteReport pads shorter
// data with zero bytes to this size.
const reportDataLen = 64

// ReportData returns the 64-byte report data that an ego-sgx report of body made
// when a cluster forms must carry: the 32-byte enrollment digest (SPEC.md §3.2)
// followed by 32 zero bytes (the all-zero challenge, §7.1). It is
// ReportDataFor(body, the zero digest).
func ReportData(body *spec.EnrollmentBody) []byte {
	return ReportDataFor(body, spec.Digest{})
}

// ReportDataFor returns the 64-byte report data that an ego-sgx report of body must
// carry when its enclave was started with InitRequest.Challenge challenge: the 32-byte
// enrollment digest followed by the challenge (SPEC.md §7.2, §17.5).
func ReportDataFor(body *spec.EnrollmentBody, challenge spec.Digest) []byte {
	d := spec.EnrollmentDigest(body)
	out := make([]byte, 0, reportDataLen)
	out = append(out, d[:]...)
	return append(out, challenge[:]...)
}

// sgxProductIDLen is the size of Open Enclave's product id field (OE_PRODUCT_ID_SIZE).
const sgxProductIDLen = 16

// ProductID decodes a report's product id: SGX's ISVPRODID is 16 bits, which Open
// Enclave and EGo return little-endian in a 16-byte field padded with zeros. It
// reports false for any other length or a non-zero padding byte, so that no report
// can match a policy through a malformed field.
func ProductID(field []byte) (uint16, bool) {
	if len(field) != sgxProductIDLen || !bytes.Equal(field[2:], make([]byte, sgxProductIDLen-2)) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(field), true
}

// ProductIDField encodes id the way a report carries it (the inverse of ProductID).
func ProductIDField(id uint16) []byte {
	out := make([]byte, sgxProductIDLen)
	binary.LittleEndian.PutUint16(out, id)
	return out
}
