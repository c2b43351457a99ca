package stdcrypto

// AdmitKey reports whether an Ed25519 public key may be enrolled or registered
// (SPEC.md §3.3, key admission rule): its encoding is canonical (y < p, and not
// x = 0 with the sign bit set), it decodes to a curve point, and that point does not
// have small order ([8]A ≠ identity).
func AdmitKey(pub [PublicKeySize]byte) bool {
	d := decodePoint(pub)
	if !d.ok || !d.canonical {
		return false
	}
	return !d.p.double().double().double().isIdentity()
}
