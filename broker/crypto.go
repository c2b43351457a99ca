package broker

import (
	"crypto/ed25519"

	"github.com/splitbft/splitbft/spec"
)

// The broker's few cryptographic calls, in one file. The broker holds no secret: it
// verifies public signatures only to decide what to forward, batch, time and fetch
// (SPEC.md §13.3), never for safety, which the compartments guard themselves.

// verifySig reports whether sig is key's Ed25519 signature over
// spec.SignedBytes(domain, cd, body), body being the exact signed bytes.
func verifySig(key spec.PublicKey, domain string, cd spec.Digest, body []byte, sig *spec.Signature) bool {
	return ed25519.Verify(key[:], spec.SignedBytes(domain, cd, body), sig[:])
}

// verifyRequest checks R5 (SPEC.md §5) over the exact bytes of a request that passed
// the round-trip gate: its Body part is what the client signed.
func verifyRequest(key spec.PublicKey, cd spec.Digest, raw []byte, sig *spec.Signature) bool {
	body, err := spec.SignedBodyRaw(raw)
	return err == nil && verifySig(key, spec.DomainRequest, cd, body, sig)
}

// batchDigest returns the digest of a batch from its exact encoding (SPEC.md §3.4).
func batchDigest(raw []byte) spec.Digest { return spec.Hash(spec.DomainBatch, raw) }

// verifyEd is spec.SigVerifier with the standard library's Ed25519 (SPEC.md §3.3),
// for verifying epoch changes (spec.VerifyEpochChange); it checks lengths first.
func verifyEd(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}
