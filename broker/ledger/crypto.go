package ledger

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// The ledger's one cryptographic call. It verifies public signatures only: what a
// certificate proves (SPEC.md §5.1, §13.5), never anything the protocol relies on.

// verifySig reports whether sig is key's Ed25519 signature over
// spec.SignedBytes(domain, cd, body), body being the exact signed bytes.
func verifySig(key spec.PublicKey, domain string, cd spec.Digest, body []byte, sig *spec.Signature) bool {
	return ed25519.Verify(key[:], spec.SignedBytes(domain, cd, body), sig[:])
}

// verifyEd is Ed25519 verification as a spec.SigVerifier, for the votes of an epoch
// change (spec.VerifyEpochChange).
func verifyEd(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}
