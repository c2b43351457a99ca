//go:build !enclave

package attest

// SelfAttester returns the Attester of this process. This build is not an enclave
// build (no "enclave" tag), so it returns DevInsecure{}: dev-insecure evidence.
func SelfAttester() Attester { return DevInsecure{} }

// EnclaveVerifier returns the Verifier an enclave uses to check another enclave's
// report (SPEC.md §17.5, rule AT3). This build is not an enclave build: it cannot
// verify EGo reports, and its Verify returns ErrNoVerifier.
func EnclaveVerifier() Verifier { return noVerifier{} }
