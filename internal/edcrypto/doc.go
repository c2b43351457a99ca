// Package edcrypto is an Ed25519 implementation built directly on the group
// operations of filippo.io/edwards25519, following SPEC.md §3.3 exactly: RFC 8032
// deterministic signing from a 32-byte seed, the "classic" cofactorless verification
// rule (lenient decoding of A, S < L, k hashed over the received R and A bytes,
// byte-for-byte comparison of the recomputed R), and the key admission rule
// (canonical encoding, not of small order).
//
// VerifyKey and Keys verify under a key prepared once (a table of its multiples), with
// exactly Verify's verdict and about 2.4 times faster: prep-b and conf-b verify the
// prep enclaves' PRE-PREPAREs and PREPAREs this way, and exec the conf enclaves'
// COMMITs.
//
// TRUSTED code: it is linked into the prep-b, conf-b and exec compartments, which are
// meant to run inside an SGX enclave. It deliberately does not import crypto/ed25519,
// so that the "b" compartments share no Ed25519 code with the "a" ones. It performs no
// I/O; its only global state is the table of the base point, computed once and never
// changed. Every function is safe on arbitrary (untrusted) input and never panics on
// a wrong length.
package edcrypto
