//go:build enclave

package attest

import (
	"strings"
	"testing"
)

// Outside an enclave (this test never runs inside one), the enclave build's
// SelfAttester must fall back to dev-insecure evidence and say why, and the EGo
// attester must fail rather than produce evidence. TestTaggedBuilds runs this file.
func TestSelfAttesterOutsideEnclave(t *testing.T) {
	a := SelfAttester()
	d, ok := a.(DevInsecure)
	if !ok || !strings.Contains(d.Why, "not inside an enclave") {
		t.Fatalf("SelfAttester() = %#v, want DevInsecure with a reason", a)
	}
	if ev, err := (egoAttester{}).Evidence([64]byte{1}); err == nil {
		t.Errorf("GetRemoteReport outside an enclave gave evidence %+v", ev)
	}
}
