// Package conformance is the shared test suite every implementation of a SplitBFT
// compartment must pass, shaped so that an implementation's own test is one line:
//
//	func TestConformance(t *testing.T) { conformance.RunPreparation(t, prepa.Factory) }
//
// It holds single-step vectors (one file each, produced by a generator program and
// embedded), golden multi-step scenarios rendered through spec.Describe, a seeded
// differential test between two implementations, and Ed25519 agreement tests on
// public vectors.
//
// The suite reports through a Reporter, which *testing.T satisfies and which
// `splitbft conformance` implements by printing, so the package does not import
// testing.
//
// Trust: test code. It is never linked into a compartment or the broker; the
// operator binary links it for `splitbft conformance`.
package conformance
