// Package kv is kv-v1 and its superset kv-v2 (SPEC.md §12.7), the key-value application of the SplitBFT Execution
// compartment (SPEC.md §12.6): a map from byte-string keys (1..256 bytes) to
// byte-string values (at most 16 KiB) with the operations PUT, GET, DELETE and CAS.
//
// Trust: this is TRUSTED code, linked into the Execution compartment and meant to run
// inside an SGX enclave. Every operation byte string and every snapshot it is given is
// untrusted as bytes: Execute never panics on any input, and Restore decodes strictly
// and rejects anything but the canonical snapshot encoding. It does no I/O, reads no
// clock and uses no randomness, so that every correct replica computes the same
// results and the same snapshot.
package kv
