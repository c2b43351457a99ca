// Package prepb is the prep-b build of the SplitBFT Preparation compartment
// (SPEC.md §8 and §9, prep-v1): the half of PBFT's agreement that orders client
// batches. The primary's prep assigns sequence numbers and signs PRE-PREPAREs; a
// backup's prep checks each proposal (including every client request in it) and
// signs one PREPARE per (view, sequence number); the new primary's prep collects
// VIEW-CHANGEs and builds the NEW-VIEW with PBFT's O set, which every other prep
// recomputes before it prepares the O entries.
//
// TRUSTED code, meant to run inside an SGX enclave. It is a pure deterministic state
// machine behind spec.Compartment: no I/O, no clock, no goroutines, and no
// randomness except the 32-byte key seed it reads from the io.Reader given to New at
// Init (SPEC.md §3.5). Every input from the untrusted broker is checked by the accept
// rules of SPEC.md in their order; a rejected input becomes a Rejection output and
// changes no state. An accepted epoch change (SPEC §17.4) either retires the
// compartment, which then rejects everything, or restarts it in the new
// configuration at the epoch's StartSeq. What prep-b and conf-b share (identity and Init, the Step loop
// and preamble, configure, checkpoints, certificate and NEW-VIEW validity, Ed25519
// through internal/edcrypto, never crypto/ed25519) lives in the trusted package
// internal/agreeb; this package holds only its own compartment's rules and state.
//
// prep-b was written from SPEC.md alone, independently of prep-a; the two must
// produce byte-identical outputs for identical inputs and randomness.
package prepb
