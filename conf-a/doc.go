// Package confa is "conf-a", an implementation of the SplitBFT Confirmation
// compartment (SPEC.md §8, §10) on Go's standard-library cryptography
// (internal/stdcrypto: crypto/ed25519, math/big key admission).
//
// This is TRUSTED code, meant to run inside an SGX enclave. It is a pure deterministic
// state machine behind spec.Compartment: no I/O, no clock, no goroutine outlives a
// Step, and its only randomness is the 32-byte key seed it reads from the io.Reader
// given to New, at Init (SPEC.md §3.5). Every input from the untrusted broker is
// checked by the accept rules of SPEC.md in their order; a rejected input yields a
// Rejection output and changes no state. A broken internal invariant panics.
//
// Confirmation collects the primary's PRE-PREPARE header and the backups' PREPAREs
// of the current view; on a prepared certificate (the PRE-PREPARE and 2f matching
// PREPAREs) it signs a COMMIT for the execution compartments and remembers the
// certificate. On its broker's suspicion it moves to the next view and emits a
// VIEW-CHANGE with its stable checkpoint and prepared certificates; it resumes on a
// valid NEW-VIEW, whose PRE-PREPAREs it stores without re-deriving them (§10.6).
//
// The host (broker) must:
//
//  1. call Init once with the InitRequest and publish the returned Enrollment (its
//     evidence is dev-insecure: this package does not produce attestation reports);
//  2. deliver configure before anything else;
//  3. deliver pre-prepare, prepare, checkpoint, new-view and suspect inputs in
//     StepInputs, and route every output by its Destination;
//  4. deliver suspect only when its request timer expires: it affects liveness only;
//  5. treat the final Status output as a hint only.
//
// The rules SPEC.md states once for both agreement roles, which this package and
// prep-a apply identically (the Step frame and preamble, Init and configure,
// checkpoint collection, certificate and NEW-VIEW validation), and the cryptography
// are in the trusted package internal/agreea, shared by prep-a and conf-a only; this
// package holds what is Confirmation's own. No file here has a cryptographic import:
// internal/agreea/crypto.go is the one file an auditor reads to know which crypto
// stack this compartment runs on.
package confa
