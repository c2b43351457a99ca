package agreeb

import (
	"bytes"
	"sync"

	"github.com/splitbft/splitbft/internal/edcrypto"
	"github.com/splitbft/splitbft/spec"
)

// Signer is one enclave's Ed25519 signing key. It never leaves the enclave.
type Signer struct {
	key *edcrypto.PrivateKey // never nil
}

// NewSigner expands a 32-byte RFC 8032 seed; it fails for any other length.
func NewSigner(seed []byte) (*Signer, error) {
	k, err := edcrypto.NewKey(seed)
	if err != nil {
		return nil, err
	}
	return &Signer{key: k}, nil
}

// Public returns the signer's Ed25519 public key.
func (s *Signer) Public() spec.PublicKey { return spec.PublicKey(s.key.Public()) }

// Sign signs SignedBytes(domain, cd, enc(body)) (SPEC.md §3.4).
func (s *Signer) Sign(domain string, cd spec.Digest, body any) spec.Signature {
	return spec.Signature(s.key.Sign(spec.SignedBytes(domain, cd, spec.Encode(body))))
}

// VerifySig reports whether sig is valid under key on SignedBytes(domain, cd,
// enc(body)), by the rule of SPEC.md §3.3. body must re-encode to the bytes that were
// received, which the strict decoder guarantees (§2.3 rule 6).
func VerifySig(key spec.PublicKey, domain string, cd spec.Digest, body any, sig spec.Signature) bool {
	return verifySigWith(nil, 0, key, domain, cd, body, sig)
}

// verifySigWith is VerifySig through slot of keys (edcrypto.Keys.Verify: the same
// verdict, from a prepared key); nil keys verify directly.
func verifySigWith(keys *edcrypto.Keys, slot int, key spec.PublicKey, domain string, cd spec.Digest, body any, sig spec.Signature) bool {
	buf := verifyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	spec.EncodeSignedBytes(buf, domain, cd, body)
	ok := keys.Verify(slot, key[:], buf.Bytes(), sig[:])
	if buf.Cap() <= 64<<10 {
		verifyBufs.Put(buf)
	}
	return ok
}

// verifyBufs are the buffers VerifySig encodes the signed bytes into, so that a
// verification allocates nothing; large ones are dropped.
var verifyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// AdmitKey is the key admission rule of SPEC.md §3.3, for Config.Validate.
func AdmitKey(k spec.PublicKey) bool { return edcrypto.Admissible(k) }
