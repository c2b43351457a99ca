// Package agreea is the code that the "a" agreement compartments, prep-a
// (Preparation) and conf-a (Confirmation), share: the rules SPEC.md states once for
// both roles and that the two apply identically, and the cryptography they run on.
// That is the Step frame and the input preamble (§7.4, §8.1 A1–A4), Init and the
// configure lines F1–F4 (§7.1, §8.1), checkpoint collection and adoption (§8.3,
// §8.4), the certificate checks (§5.1), NEW-VIEW validation NV3–NV7 and the choice of
// its checkpoint (§8.5 step 1, §8.6), the sender's key (§8.2), and Ed25519 on Go's
// standard library (internal/stdcrypto: crypto/ed25519, math/big key admission).
// Everything one role does and the other does not stays in that role's package.
//
// This is TRUSTED code, meant to run inside an SGX enclave: it is linked into the
// prep-a and conf-a enclave binaries. It is shared by prep-a and conf-a ONLY. prep-b
// and conf-b are an independent implementation of the same roles on another crypto
// stack, and must never import this package (nor may anything else: TestImporters
// checks it), so that one bug cannot sit in both implementations of a role.
//
// Like the compartments it serves, it is deterministic: no I/O, no clock, no global
// randomness (GenerateKey reads exactly the 32 bytes it is given), and the only
// goroutines are VerifyEach's, which all end before it returns. Untrusted input never
// panics it: every check answers with a reject code or a boolean. A broken internal
// invariant (documented on the type that keeps it) panics.
//
// crypto.go is the only file of this package, prep-a and conf-a with a cryptographic
// import: the one file an auditor reads to know which crypto stack the "a"
// compartments run on.
package agreea
