//go:build !egoverify || enclave

package attest

// DefaultVerifier returns the Verifier of this build. Built without the "egoverify"
// tag (or inside an enclave, where EGo forbids its host verifier), it cannot verify EGo
// reports: its Verify returns ErrNoVerifier.
func DefaultVerifier() Verifier { return noVerifier{} }
