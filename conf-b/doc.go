// Package confb is the conf-b build of the SplitBFT Confirmation compartment
// (SPEC.md §8 and §10, conf-v1): the half of PBFT's agreement that turns a
// PRE-PREPARE and 2f matching PREPAREs into a prepared certificate and a signed
// COMMIT for the execution compartments. It keeps the prepared certificates it formed
// across views, and on its broker's suspicion it leaves the view and sends a
// VIEW-CHANGE carrying them; a valid NEW-VIEW ends the view change.
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
// conf-b was written from SPEC.md alone, independently of conf-a; the two must
// produce byte-identical outputs for identical inputs and randomness.
package confb
