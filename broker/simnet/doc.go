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
// Fault hooks: per link (from, to) drop, duplicate, delay (and with it reorder) and
// mutate; partitions; per compartment (role, replica) drop, duplicate, delay, reorder
// and mutate of the inputs the broker delivers (a malicious broker); and replacing an enclave by a Byzantine one that wraps the real
// compartment and rewrites or injects outputs (Byzantine, EnclaveRand for its keys).
package simnet
