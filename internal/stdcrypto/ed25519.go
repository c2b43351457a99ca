package stdcrypto

import (
	"crypto/ed25519"
	"errors"
	"io"
)

// Sizes of the Ed25519 objects handled here (RFC 8032).
const (
	SeedSize      = ed25519.SeedSize      // 32: the private key seed
	PublicKeySize = ed25519.PublicKeySize // 32: the encoded public key A
	SignatureSize = ed25519.SignatureSize // 64: R || S
)

// ErrSeedSize is returned by NewSigner for a seed that is not SeedSize bytes.
var ErrSeedSize = errors.New("stdcrypto: ed25519 seed must be 32 bytes")

// Signer holds an Ed25519 private key. Signing is deterministic (RFC 8032): the same
// key signs the same message to the same 64 bytes.
type Signer struct {
	priv ed25519.PrivateKey // invariant: len == ed25519.PrivateKeySize
	pub  [PublicKeySize]byte
}

// NewSigner derives the RFC 8032 key pair from a 32-byte seed.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != SeedSize {
		return nil, ErrSeedSize
	}
	s := &Signer{priv: ed25519.NewKeyFromSeed(seed)}
	copy(s.pub[:], s.priv[SeedSize:])
	return s, nil
}

// GenerateSigner reads exactly SeedSize bytes from r and derives the key pair from
// them (SPEC.md §3.5). It reads nothing else.
func GenerateSigner(r io.Reader) (*Signer, error) {
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, err
	}
	return NewSigner(seed)
}

// Public returns the encoded public key A.
func (s *Signer) Public() [PublicKeySize]byte { return s.pub }

// Sign returns the Ed25519 signature R || S of msg.
func (s *Signer) Sign(msg []byte) [SignatureSize]byte {
	var sig [SignatureSize]byte
	copy(sig[:], ed25519.Sign(s.priv, msg))
	return sig
}

// Verify reports whether sig is a valid signature of msg under pub by the rule of
// SPEC.md §3.3, which is exactly crypto/ed25519.Verify (cofactorless, S < L, A decoded
// leniently, R compared byte for byte). Wrong lengths are invalid, never a panic.
//
// SPEC-AMBIGUITY: §3.3 rule 2 says "the check x = 0 and sign bit 1 still rejects",
// but crypto/ed25519 (like filippo.io/edwards25519 SetBytes) accepts such a
// "negative zero" key, and the CCTV statement of §3.3 (rejected exactly when
// low_order_residue or non_canonical_R) requires accepting it: CCTV vectors such as
// 306, 312, 834 and 901 use the keys 01..80, ee..ff and ec..ff and must verify. Verify
// follows crypto/ed25519 and the CCTV statement; such keys are never enrolled anyway,
// because the key admission rule (AdmitKey) refuses them.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}
