package confa

import (
	"io"

	"github.com/splitbft/splitbft/internal/stdcrypto"
	"github.com/splitbft/splitbft/spec"
)

// This is the only file of the package that touches cryptography; it wraps
// internal/stdcrypto (crypto/ed25519 and a math/big key admission check).

// signingKey is this enclave's Ed25519 key. It lives only in enclave memory: it is
// never sealed, exported or restored (SPEC.md §7.1).
type signingKey struct {
	s *stdcrypto.Signer // nil until Init
}

// generateKey reads exactly 32 bytes from rand, the RFC 8032 seed (SPEC.md §3.5).
func generateKey(rand io.Reader) (signingKey, error) {
	s, err := stdcrypto.GenerateSigner(rand)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{s: s}, nil
}

// public returns the enrolled public key.
func (k signingKey) public() spec.PublicKey { return k.s.Public() }

// sign signs SignedBytes(domain, cd, body) (SPEC.md §3.4); body is a canonical
// encoding.
func (k signingKey) sign(domain string, cd spec.Digest, body []byte) spec.Signature {
	return k.s.Sign(spec.SignedBytes(domain, cd, body))
}

// verifySig reports whether sig is key's signature of SignedBytes(domain, cd, body)
// by the verification rule of SPEC.md §3.3. Lengths are fixed by the types, so the
// underlying verifier cannot panic.
func verifySig(key spec.PublicKey, domain string, cd spec.Digest, body []byte, sig spec.Signature) bool {
	return stdcrypto.Verify(key[:], spec.SignedBytes(domain, cd, body), sig[:])
}

// admitKey is the key admission rule of SPEC.md §3.3, for Config.Validate.
func admitKey(k spec.PublicKey) bool { return stdcrypto.AdmitKey(k) }
