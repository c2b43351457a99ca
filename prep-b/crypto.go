package prepb

import (
	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// signer is this enclave's Ed25519 signing key. It never leaves the enclave.
type signer struct {
	key *edcrypto.PrivateKey
}

// newSigner expands a 32-byte RFC 8032 seed.
func newSigner(seed []byte) (*signer, error) {
	k, err := edcrypto.NewKey(seed)
	if err != nil {
		return nil, err
	}
	return &signer{key: k}, nil
}

// public returns the signer's Ed25519 public key.
func (s *signer) public() spec.PublicKey { return spec.PublicKey(s.key.Public()) }

// sign signs SignedBytes(domain, cd, enc(body)) (SPEC.md §3.4).
func (s *signer) sign(domain string, cd spec.Digest, body any) spec.Signature {
	return spec.Signature(s.key.Sign(spec.SignedBytes(domain, cd, spec.Encode(body))))
}

// verifySig reports whether sig is valid under key on SignedBytes(domain, cd,
// enc(body)), by the rule of SPEC.md §3.3. body must re-encode to the bytes that were
// received, which the strict decoder guarantees (§2.3 rule 6).
func verifySig(key spec.PublicKey, domain string, cd spec.Digest, body any, sig spec.Signature) bool {
	return edcrypto.Verify(key[:], spec.SignedBytes(domain, cd, spec.Encode(body)), sig[:])
}

// admitKey is the key admission rule of SPEC.md §3.3, for Config.Validate.
func admitKey(k spec.PublicKey) bool { return edcrypto.Admissible(k) }
