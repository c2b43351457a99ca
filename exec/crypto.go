package exec

import (
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// This file is the only one of the package that imports cryptographic code. Every
// function is safe on arbitrary (untrusted) input: lengths are checked before any
// library call that panics on a wrong length.

// keySize is the size of every symmetric key, X25519 scalar and Ed25519 seed.
const keySize = 32

// signer is the compartment's Ed25519 signing key (SPEC.md §3.3, §3.5).
type signer struct {
	priv ed25519.PrivateKey // invariant: ed25519.PrivateKeySize bytes
}

// newSigner derives the RFC 8032 key from a 32-byte seed.
func newSigner(seed []byte) signer { return signer{priv: ed25519.NewKeyFromSeed(seed)} }

// public returns the Ed25519 public key.
func (s signer) public() spec.PublicKey {
	var k spec.PublicKey
	copy(k[:], s.priv.Public().(ed25519.PublicKey))
	return k
}

// sign signs SignedBytes(domain, cd, body) (SPEC.md §3.4).
func (s signer) sign(domain string, cd spec.Digest, body []byte) spec.Signature {
	var sig spec.Signature
	copy(sig[:], ed25519.Sign(s.priv, spec.SignedBytes(domain, cd, body)))
	return sig
}

// verifySig reports whether sig is a valid Ed25519 signature under pub of
// SignedBytes(domain, cd, body), by the verification rule of SPEC.md §3.3 (exactly
// crypto/ed25519.Verify; the fixed-size array types guarantee its length checks).
func verifySig(pub spec.PublicKey, domain string, cd spec.Digest, body []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], spec.SignedBytes(domain, cd, body), sig[:])
}

// newCommitKeys returns the cache of the conf enclaves' keys, prepared for verifying
// COMMITs: one slot per replica id, at most 61,440 bytes each, prepared on first use
// and again when the configuration gives the replica another key.
func newCommitKeys() *preparedKeys { return edcrypto.NewKeys(spec.MaxReplicas) }

// preparedKeys are Ed25519 public keys prepared for verification.
type preparedKeys = edcrypto.Keys

// verifyPrepared is verifySig through slot of keys. edcrypto.Keys gives exactly
// Verify's verdict under SPEC.md §3.3, which is crypto/ed25519.Verify's (checked on
// the public vectors and by crosscheck), about 2.4 times faster than verifying from
// the key's bytes.
func verifyPrepared(keys *preparedKeys, slot uint64, pub spec.PublicKey, domain string, cd spec.Digest, body []byte, sig spec.Signature) bool {
	if slot >= spec.MaxReplicas {
		return verifySig(pub, domain, cd, body, sig)
	}
	return keys.Verify(int(slot), pub[:], spec.SignedBytes(domain, cd, body), sig[:])
}

// verifyRaw is verifySig over already built signed bytes: the spec.SigVerifier that
// spec.VerifyPlan and spec.VerifyRecovery call.
func verifyRaw(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

// admitKey is the key admission rule of SPEC.md §3.3: the key is a canonical encoding
// of a curve point that does not have small order.
func admitKey(k spec.PublicKey) bool {
	p, err := new(edwards25519.Point).SetBytes(k[:])
	if err != nil {
		return false
	}
	if string(p.Bytes()) != string(k[:]) {
		return false // non-canonical: y ≥ p, or x = 0 with the sign bit set
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}

// x25519Public returns X25519(priv, basepoint).
func x25519Public(priv *[keySize]byte) spec.PublicKey {
	var pub spec.PublicKey
	out, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		panic("exec: X25519 with the base point failed") // cannot happen: the base point has large order
	}
	copy(pub[:], out)
	return pub
}

// x25519Shared returns X25519(priv, peer), or false when the result is all zeros (a
// low-order peer key, SPEC.md §12.1).
func x25519Shared(priv *[keySize]byte, peer spec.PublicKey) ([]byte, bool) {
	out, err := curve25519.X25519(priv[:], peer[:])
	return out, err == nil
}

// hkdf32 is HKDF-SHA256 (RFC 5869, extract then expand) with a 32-byte output and
// info the concatenation of the given parts. An empty salt is the RFC's default salt.
func hkdf32(secret, salt []byte, info ...[]byte) []byte {
	var in []byte
	for _, p := range info {
		in = append(in, p...)
	}
	key := make([]byte, keySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, in), key); err != nil {
		panic("exec: HKDF output short") // cannot happen for 32 bytes
	}
	return key
}

// aeadSeal is XChaCha20-Poly1305 encryption; key is a 32-byte derived key.
func aeadSeal(key []byte, nonce spec.Nonce, plain, ad []byte) []byte {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic("exec: AEAD key is not 32 bytes") // internal keys are always 32 bytes
	}
	return aead.Seal(nil, nonce[:], plain, ad)
}

// aead is XChaCha20-Poly1305 under one derived key, set up once and reused for
// every operation and reply of a client (aeadSeal and aeadOpen set it up per call).
type aead struct{ c cipher.AEAD }

// newAEAD returns the cipher of a 32-byte derived key.
func newAEAD(key []byte) aead {
	c, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic("exec: AEAD key is not 32 bytes") // internal keys are always 32 bytes
	}
	return aead{c}
}

// seal appends the encryption of plain to dst, as aeadSeal.
func (a aead) seal(dst []byte, nonce *spec.Nonce, plain, ad []byte) []byte {
	return a.c.Seal(dst, nonce[:], plain, ad)
}

// open returns the decryption of ct in a new slice, as aeadOpen.
func (a aead) open(nonce *spec.Nonce, ct, ad []byte) ([]byte, bool) {
	if len(ct) < a.c.Overhead() {
		return nil, false
	}
	plain, err := a.c.Open(nil, nonce[:], ct, ad)
	return plain, err == nil
}

// aeadOpen is XChaCha20-Poly1305 decryption; false when ct does not open.
func aeadOpen(key []byte, nonce spec.Nonce, ct, ad []byte) ([]byte, bool) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil || len(ct) < aead.Overhead() {
		return nil, false
	}
	plain, err := aead.Open(nil, nonce[:], ct, ad)
	return plain, err == nil
}
