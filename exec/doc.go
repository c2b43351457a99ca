// Package exec is the SplitBFT Execution compartment, build "exec" (SPEC.md §8, §11,
// §12): it collects COMMIT certificates, executes committed batches in sequence order
// on a replicated Application (kv-v1 in package exec/kv), opens the clients' sealed
// operations with the execution group key, seals one reply per request (all its
// results) for its client, produces and collects CHECKPOINTs, follows NEW-VIEWs, and moves state
// between execution compartments (state transfer).
//
// It also runs the epochs of SPEC.md §17: config operations (admissions and member
// proposals, config_op.go and governance.go) are executed by exec itself; the batch
// that accepts one ends the epoch (epoch.go: snapshot, EPOCH-VOTE, EPOCH-CHANGE on q
// votes); an epoch change is adopted or, when this exec's slot was replaced, the
// compartment retires (epoch_change.go); and attest inputs check a fresh enclave's
// evidence with an injected EvidenceCheck (attest.go).
//
// When every enclave of a cluster stopped, a fresh exec recovers instead of being
// configured (SPEC.md §17.8, recovery.go): the recover input carries the last
// configuration, a member-signed plan and the group key as the broker stored it
// (sealer.go); the exec replays the certified log under the last configuration
// without replies or checkpoints, votes on the state it reaches at the plan's head,
// and q votes make the Recovery that starts the next epoch.
//
// Trust: this is TRUSTED code, meant to run inside an SGX enclave. It holds the
// compartment's Ed25519 signing key, its X25519 box key and the execution group's
// private key. The signing and box keys never leave it; the group key leaves only
// through seal-key, sealed with the injected Sealer (EGo's product key inside an
// enclave; in the clear, format 0, outside one, which the tools announce). Everything it receives through Step comes
// from the untrusted broker and is treated as hostile: every input is decoded
// strictly, checked against the accept rules of SPEC.md in order, and a rejected
// input yields a Rejection output and changes no state. It is a deterministic state
// machine: no I/O, no clock, no goroutines, and randomness only from the reader given
// to New, read exactly as SPEC.md §3.5 says.
//
// All cryptographic primitives (Ed25519, X25519, HKDF-SHA256, XChaCha20-Poly1305) are
// confined to crypto.go.
package exec
