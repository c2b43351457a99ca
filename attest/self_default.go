//go:build !enclave

package attest

// SelfAttester returns the Attester of this process. This build is not an enclave
// build (no "enclave" tag), so it returns DevInsecure{}: dev-insecure evidence.
func SelfAttester() Attester { return DevInsecure{} }
