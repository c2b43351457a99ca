// Package stdcrypto is the cryptography of the "a" implementations of the agreement
// compartments (prep-a, conf-a), built on Go's standard library only: Ed25519 signing
// and verification from crypto/ed25519, and the key admission rule of SPEC.md §3.3
// (canonical encoding, not of small order) in math/big field arithmetic.
//
// This is TRUSTED code: it runs inside the Preparation and Confirmation enclaves.
// It never panics on untrusted input: Verify checks lengths before calling
// crypto/ed25519, and AdmitKey accepts any 32 bytes.
//
// It deliberately imports neither filippo.io/edwards25519 nor golang.org/x/crypto:
// the "b" implementations use those, and the two stacks must share nothing but the
// spec, so that a bug in one is not a bug in both.
package stdcrypto
