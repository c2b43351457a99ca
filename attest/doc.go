// Package attest binds SplitBFT enrollments to SGX enclaves (SPEC.md §7.2, §7.3).
//
// It has two sides:
//
//   - Verification, for whoever assembles or accepts a cluster configuration
//     (operator tools, clients): CheckEnrollment and CheckConfig check every
//     enrollment's evidence against the builds the configuration accepts, using a
//     Verifier that checks an EGo remote report's signature chain. This is UNTRUSTED
//     host code: it decides what the host's operator accepts, and runs outside any
//     enclave.
//   - Attestation, for the compartment binaries (internal/enclavemain): an Attester
//     produces the evidence of an enrollment, Attach puts it into the enrollment that
//     the compartment's Init returned. This side is TRUSTED code: it is linked into
//     every enclave binary.
//
// Build tags keep the EGo-specific code small and optional, so that the module builds,
// vets and tests on a machine without the EGo toolchain:
//
//   - "enclave" (the tag of an enclave build, `ego-go build -tags enclave`, which also
//     removes the -test-seed flag of internal/enclavemain): SelfAttester uses EGo's
//     enclave.GetSelfReport and enclave.GetRemoteReport (self_ego.go). Needs cgo. Run
//     outside an enclave, such a binary falls back to dev-insecure evidence and says
//     why.
//   - "egoverify" (operator tools on a host with EGo's Open Enclave host-verification
//     library): DefaultVerifier uses EGo's eclient.VerifyRemoteReport
//     (verifier_ego.go). Never together with "enclave": EGo forbids eclient inside an
//     enclave.
//
// Without those tags SelfAttester produces dev-insecure evidence and DefaultVerifier
// refuses every ego-sgx report with ErrNoVerifier.
package attest
