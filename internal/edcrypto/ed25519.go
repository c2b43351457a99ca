package edcrypto

import (
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
)

// Sizes of the Ed25519 encodings, in bytes.
const (
	SeedSize      = 32 // RFC 8032 private key (seed)
	PublicKeySize = 32 // compressed point A
	SignatureSize = 64 // R || S
)

// ErrSeedSize is returned by NewKey for a seed that is not SeedSize bytes.
var ErrSeedSize = errors.New("edcrypto: seed must be 32 bytes")

// PrivateKey is an expanded RFC 8032 signing key. The zero value is not usable;
// build one with NewKey.
type PrivateKey struct {
	scalar edwards25519.Scalar // s: the clamped lower half of SHA-512(seed), reduced mod L
	prefix [32]byte            // the upper half of SHA-512(seed), the nonce prefix
	public [PublicKeySize]byte // A = [s]B, canonical encoding
}

// NewKey expands a 32-byte RFC 8032 seed (SPEC.md §3.5) into a signing key. It fails
// only on a wrong seed length.
func NewKey(seed []byte) (*PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, ErrSeedSize
	}
	h := sha512.Sum512(seed)
	k := new(PrivateKey)
	if _, err := k.scalar.SetBytesWithClamping(h[:32]); err != nil {
		panic("edcrypto: clamping a 32-byte string failed: " + err.Error())
	}
	copy(k.prefix[:], h[32:])
	A := new(edwards25519.Point).ScalarBaseMult(&k.scalar)
	copy(k.public[:], A.Bytes())
	return k, nil
}

// Public returns the key's public key A in its canonical 32-byte encoding.
func (k *PrivateKey) Public() [PublicKeySize]byte { return k.public }

// Sign returns the deterministic RFC 8032 Ed25519 signature R || S of msg:
// r = SHA-512(prefix || msg) mod L, R = [r]B, k = SHA-512(R || A || msg) mod L,
// S = r + k·s mod L.
func (k *PrivateKey) Sign(msg []byte) [SignatureSize]byte {
	r := reduce512(k.prefix[:], msg)
	R := new(edwards25519.Point).ScalarBaseMult(r)
	var sig [SignatureSize]byte
	copy(sig[:32], R.Bytes())
	c := reduce512(sig[:32], k.public[:], msg)
	S := new(edwards25519.Scalar).MultiplyAdd(c, &k.scalar, r)
	copy(sig[32:], S.Bytes())
	return sig
}

// Verify reports whether sig is a valid signature of msg under the public key pub,
// by exactly the rule of SPEC.md §3.3:
//  1. len(pub) == 32 and len(sig) == 64;
//  2. pub decodes to a point (lenient: y ≥ p is reduced, as Point.SetBytes does);
//  3. S = sig[32:] is canonical (S < L);
//  4. k = SHA-512(R || A || msg) mod L over the received R and A bytes;
//  5. the canonical encoding of [S]B − [k]A equals R byte for byte.
//
// Small-order A and R are not rejected. Any input, of any length, is safe.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	// SPEC-AMBIGUITY: §3.3 rule 2 says the "x = 0 and sign bit 1" encoding is still
	// rejected, but also that the rule is exactly crypto/ed25519.Verify, whose decoder
	// (Point.SetBytes) accepts that encoding as the point with x = 0. We follow
	// SetBytes, as the brief asks. Such keys are of small order, so the key admission
	// rule keeps them out of every configuration and the choice never shows in a
	// protocol output.
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	k := reduce512(sig[:32], pub, msg)
	// Negate the point, not the scalar: for an A with a small-order component,
	// [L−k]A ≠ −[k]A because [L]A is not the identity, and §3.3 asks for
	// [S]B − [k]A exactly (what the CCTV low_order_residue vectors test).
	minusA := new(edwards25519.Point).Negate(A)
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, S)
	return constantTimeEqual(R.Bytes(), sig[:32])
}

// Admissible reports whether pub may be enrolled or registered (SPEC.md §3.3 key
// admission): it decodes, its encoding is canonical (re-encoding the decoded point
// gives pub back, which excludes y ≥ p and the x = 0 / sign bit 1 encodings), and
// [8]A is not the identity.
func Admissible(pub [PublicKeySize]byte) bool {
	A, err := new(edwards25519.Point).SetBytes(pub[:])
	if err != nil {
		return false
	}
	if !constantTimeEqual(A.Bytes(), pub[:]) {
		return false
	}
	eightA := new(edwards25519.Point).MultByCofactor(A)
	return eightA.Equal(edwards25519.NewIdentityPoint()) != 1
}

// reduce512 returns SHA-512(parts[0] || parts[1] || ...) reduced mod L.
func reduce512(parts ...[]byte) *edwards25519.Scalar {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	var digest [64]byte
	s, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic("edcrypto: reducing a 64-byte hash failed: " + err.Error())
	}
	return s
}

// constantTimeEqual compares two equal-length byte strings without an early exit.
func constantTimeEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var acc byte
	for i := range a {
		acc |= a[i] ^ b[i]
	}
	return acc == 0
}
