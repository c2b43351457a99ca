//go:build !enclave

package attest

import (
	"errors"
	"testing"
)

func TestSelfAttesterNotEnclaveBuild(t *testing.T) {
	if a := SelfAttester(); a != (DevInsecure{}) {
		t.Fatalf("SelfAttester() = %#v, want DevInsecure{} without a reason", a)
	}
}

// Outside an enclave build, EnclaveVerifier refuses every report with ErrNoVerifier,
// so an exec refuses ego-sgx evidence (rule AT3) rather than admitting it unchecked.
func TestEnclaveVerifierNotEnclaveBuild(t *testing.T) {
	if _, err := EnclaveVerifier().Verify([]byte("report")); !errors.Is(err, ErrNoVerifier) {
		t.Fatalf("EnclaveVerifier().Verify = %v, want ErrNoVerifier", err)
	}
}
