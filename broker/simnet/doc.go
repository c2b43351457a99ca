// Package simnet is a deterministic in-process network for testing SplitBFT clusters.
// It is test infrastructure on the UNTRUSTED side: it hosts real compartments behind
// real brokers (package broker) and real client sessions (package client), and plays
// the network, the clock and the adversary.
//
// Everything runs on one goroutine from one scheduler seeded by Options.Seed
// (math/rand/v2 PCG): every delivery — a message between brokers, a client request,
// a reply, a tick — is an event in one queue ordered by virtual time and insertion
// order, so a seed reproduces a run exactly. Tests print the seed on failure.
//
// Fault hooks: per link (from, to) drop, duplicate, delay (and with it reorder), mutate
// and hold (withhold selected messages until Release); partitions; crashing a replica
// (Crash); per compartment (role, replica) drop, duplicate, delay, reorder and mutate
// of the inputs the broker delivers, or extra inputs (InjectInput) — a malicious
// broker; injecting broker messages as if from a peer (InjectPeer); and replacing an
// enclave by a Byzantine one that wraps the real compartment and rewrites or injects
// outputs (Byzantine, EnclaveRand for its keys).
//
// Observers: the checkpoint digests every exec signed (CheckAgreement, StateDigests),
// every broker message as sent (Options.OnPeer), and, with Options.TrackExec, the batch
// digest every exec executed at each sequence number (ExecLog, CheckExecAgreement: the
// agreement oracle of the scenario tests in scenarios_*_test.go).
package simnet
