// Package prepa is "prep-a", an implementation of the SplitBFT Preparation
// compartment (SPEC.md §8, §9) on Go's standard-library cryptography
// (internal/stdcrypto: crypto/ed25519, math/big key admission).
//
// This is TRUSTED code, meant to run inside an SGX enclave. It is a pure deterministic
// state machine behind spec.Compartment: no I/O, no clock, no goroutine outlives a
// Step, and its only randomness is the 32-byte key seed it reads from the io.Reader
// given to New, at Init (SPEC.md §3.5). Every input from the untrusted broker is
// checked by the accept rules of SPEC.md in their order; a rejected input yields a
// Rejection output and changes no state. A broken internal invariant panics.
//
// Preparation orders client requests (the primary), validates the primary's proposals
// and signs PREPAREs (the backups), collects CHECKPOINTs (§8.3) and VIEW-CHANGEs, and
// builds (new primary) or re-derives and checks (backups) NEW-VIEWs (§8.5, §9.6, §9.7).
//
// The host (broker) must:
//
//  1. call Init once with the InitRequest and publish the returned Enrollment (its
//     evidence is dev-insecure: this package does not produce attestation reports);
//  2. deliver configure before anything else;
//  3. deliver client-batch (primary only), proposal, checkpoint, view-change and
//     new-view inputs in StepInputs, and route every output by its Destination;
//  4. treat the final Status output as a hint only.
//
// The rules SPEC.md states once for both agreement roles, which this package and
// conf-a apply identically (the Step frame and preamble, Init and configure,
// checkpoint collection, certificate and NEW-VIEW validation), and the cryptography
// are in the trusted package internal/agreea, shared by prep-a and conf-a only; this
// package holds what is Preparation's own. No file here has a cryptographic import:
// internal/agreea/crypto.go is the one file an auditor reads to know which crypto
// stack this compartment runs on.
package prepa
