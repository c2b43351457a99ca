package agreea

import (
	"io"
	"sync"

	"github.com/splitbft/splitbft/internal/stdcrypto"
	"github.com/splitbft/splitbft/spec"
)

// This is the only file of prep-a, conf-a and agreea that touches cryptography; it
// wraps internal/stdcrypto (crypto/ed25519 and a math/big key admission check).

// SigningKey is an enclave's Ed25519 key. It lives only in enclave memory: it is never
// sealed, exported or restored (SPEC.md §7.1). The zero SigningKey (before Init) has
// no key: calling Public or Sign on it panics.
type SigningKey struct {
	s *stdcrypto.Signer // nil until GenerateKey
}

// GenerateKey reads exactly 32 bytes from rand, the RFC 8032 seed (SPEC.md §3.5), and
// returns the key. It fails only if rand does.
func GenerateKey(rand io.Reader) (SigningKey, error) {
	s, err := stdcrypto.GenerateSigner(rand)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{s: s}, nil
}

// Public returns the public key, as enrolled.
func (k SigningKey) Public() spec.PublicKey { return k.s.Public() }

// Sign signs SignedBytes(domain, cd, body) (SPEC.md §3.4); body is a canonical
// encoding.
func (k SigningKey) Sign(domain string, cd spec.Digest, body []byte) spec.Signature {
	return k.s.Sign(spec.SignedBytes(domain, cd, body))
}

// VerifySig reports whether sig is key's signature of SignedBytes(domain, cd, body)
// by the verification rule of SPEC.md §3.3. Lengths are fixed by the types, so the
// underlying verifier cannot panic.
func VerifySig(key spec.PublicKey, domain string, cd spec.Digest, body []byte, sig spec.Signature) bool {
	bp := signedBufs.Get().(*[]byte)
	msg := spec.AppendSignedBytes((*bp)[:0], domain, cd, body)
	ok := stdcrypto.Verify(key[:], msg, sig[:])
	if cap(msg) <= maxPooledSigned {
		*bp = msg
		signedBufs.Put(bp)
	}
	return ok
}

// signedBufs holds the buffers VerifySig assembles signed bytes in (verifications run
// on several goroutines, VerifyEach); buffers over maxPooledSigned are not kept.
var signedBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledSigned = 64 << 10

// AdmitKey is the key admission rule of SPEC.md §3.3, for Config.Validate.
func AdmitKey(k spec.PublicKey) bool { return stdcrypto.AdmitKey(k) }
