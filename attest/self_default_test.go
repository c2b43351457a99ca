//go:build !enclave

package attest

import "testing"

func TestSelfAttesterNotEnclaveBuild(t *testing.T) {
	if a := SelfAttester(); a != (DevInsecure{}) {
		t.Fatalf("SelfAttester() = %#v, want DevInsecure{} without a reason", a)
	}
}
