// Package spec is the SplitBFT wire contract, version 1: every message, every
// compartment interface type, the cluster configuration, the reject codes, and the
// one strict CBOR codec all parties use.
//
// Trust: spec is linked into every compartment (trusted, inside an enclave) and into
// the broker, the client and the tools (untrusted). It holds no secrets and does no
// cryptography beyond SHA-256: signing and signature verification live in each
// compartment implementation (prep-a, prep-b, conf-a, conf-b, exec), so that the two
// implementations of a compartment share nothing but this package.
//
// SPEC.md in this folder is normative; where this package and SPEC.md disagree, the
// package has a bug. The CDDL in wire.cddl describes the same structures and is tied
// to these types by a test.
package spec
