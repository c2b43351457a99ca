// Package agreeb is the code the two "b" agreement compartments, prep-b (SPEC.md §9)
// and conf-b (SPEC.md §10), have in common because they enforce the same rules of
// SPEC.md on the same data: the enclave identity and Init (§7.1), the Step loop and
// input preamble A1–A4 (§7.4, §8.1), configure F1–F4 (§8.1), the cluster values of an
// accepted configuration, checkpoint collection and adoption (§8.3, §8.4) from the
// epoch's genesis certificate, the certificate validity rules (§5.1), the NEW-VIEW
// checks NV3–NV7 and the choice of best (§8.5, §8.6), the epoch-change rules
// EC1–EC4 and the retired check (§17.1, §17.4, §8.1), and the deterministic state
// dump helpers. Each compartment keeps
// its own rules, state and effects in its own package.
//
// TRUSTED code, meant to run inside an SGX enclave: it is linked into the prep-b and
// conf-b compartments. It is a pure deterministic library: no I/O, no clock, no
// goroutines, no global state, and no randomness except the 32-byte key seed
// Identity.Init reads from the io.Reader it was given (SPEC.md §3.5). Untrusted input
// yields reject codes, never panics. Ed25519 comes from internal/edcrypto
// (filippo.io/edwards25519), never from crypto/ed25519; crypto.go is the only file of
// the b compartments that touches it.
//
// It is shared by prep-b and conf-b ONLY. It must never be imported by prep-a or
// conf-a (or their binaries): the a and b implementations of each agreement
// compartment are independent and share no code beyond package spec (see the
// TestDiversity* and TestNoSharedCode checks in conformance/crosscheck).
package agreeb
