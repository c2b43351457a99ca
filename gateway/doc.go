// Package gateway is the SplitBFT Redis gateway (SPEC.md §16, after Troxy): it lets
// unmodified Redis clients — redis-cli, redis-benchmark, the Redis libraries of every
// language — use the replicated key-value store (kv-v2, SPEC.md §12.7).
//
// Trust: TRUSTED code, meant to run in its own enclave (gateway/cmd/gateway). It holds
// client identities registered in the configuration and does, on the server side, what
// a native client does: each command becomes kv operations of a signed REQUEST sealed
// for the execution group, and a result is answered only once enough execution
// enclaves sealed equal results (the Doers it is given, normally *client.Client). A
// Byzantine gateway can lie to its own connected clients; it cannot make correct
// replicas diverge (SPEC.md §16.1).
//
// Every byte a legacy client sends is untrusted: the RESP reader enforces the bounds of
// SPEC.md §16.3 before allocating, malformed input gets a protocol error and a closed
// connection, and a bad command gets an error reply naming it.
//
// The host's duties:
//  1. Build one Doer per client identity (client.New over a transport to the
//     replicas) and pass them to New.
//  2. Listen on loopback for development (Serve refuses nothing itself: the caller
//     checks the address with CheckDevAddress and prints DevWarning), or behind TLS.
//  3. Call Serve with the listener; Close stops it and closes every connection.
//  4. Read Stats for status and metrics.
package gateway
