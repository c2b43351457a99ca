// Package crosscheck holds the tests that compare the two implementations of each
// agreement compartment against each other and against SPEC.md: the seeded
// differential test (prep-a vs prep-b, conf-a vs conf-b) and its published digests
// (SPEC.md Appendix B), Ed25519 agreement between internal/stdcrypto and
// internal/edcrypto on public and generated vectors, and the diversity evidence (no
// shared crypto stack, no shared code).
//
// Trust: test code only; this package has no non-test code besides this comment.
package crosscheck
