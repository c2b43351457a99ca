// Package testcluster builds test clusters: from a seed, every enclave's and every
// client's private keys, a valid spec.Config around them (or around the enrollments of
// the compartments under test), and a signer for any enclave or client.
//
// It is UNTRUSTED test support, used by the conformance fixtures, the simulators
// (broker/simnet, conformance/swarm) and the host-side tests (broker, client, exec);
// it never runs inside an enclave and no compartment implementation imports it. It
// links no implementation and no host package (broker, client), so that any of their
// tests can use it. The a and b implementations keep their own, independent test
// helpers (internal/stdcrypto/fixture, internal/agreeb/agreebtest).
//
// Key derivation is fixed (golden vectors depend on it): see New.
package testcluster
