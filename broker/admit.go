package broker

import (
	"bytes"

	"filippo.io/edwards25519"
	"github.com/splitbft/splitbft/spec"
)

// AdmitKey is the key admission rule of SPEC.md §3.3, as a spec.KeyAdmitter: the
// Ed25519 public key is canonically encoded (y < p, and not x = 0 with the sign bit
// set) and its point does not have small order ([8]A ≠ identity).
func AdmitKey(k spec.PublicKey) bool {
	p, err := new(edwards25519.Point).SetBytes(k[:])
	if err != nil {
		return false
	}
	// SetBytes accepts non-canonical encodings; the canonical one re-encodes to itself.
	if !bytes.Equal(p.Bytes(), k[:]) {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}
