// Package edcrypto is an Ed25519 implementation built directly on the group
// operations of filippo.io/edwards25519, following SPEC.md §3.3 exactly: RFC 8032
// deterministic signing from a 32-byte seed, the "classic" cofactorless verification
// rule (lenient decoding of A, S < L, k hashed over the received R and A bytes,
// byte-for-byte comparison of the recomputed R), and the key admission rule
// (canonical encoding, not of small order).
//
// TRUSTED code: it is linked into the prep-b and conf-b compartments, which are meant
// to run inside an SGX enclave. It deliberately does not import crypto/ed25519, so that
// the "b" compartments share no Ed25519 code with the "a" ones. It performs no I/O and
// holds no global state; every function is safe on arbitrary (untrusted) input and
// never panics on a wrong length.
package edcrypto
