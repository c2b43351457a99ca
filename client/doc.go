// Package client is the SplitBFT client library. It is UNTRUSTED code in the sense of
// SPEC.md: it runs on the client's machine, outside every enclave, and holds that
// client's secrets (its Ed25519 signing key and X25519 box key) and nothing else.
//
// The package has two layers:
//
//   - Session: a deterministic, I/O-free core. Prepare builds a signed REQUEST whose
//     operations are sealed for the execution group (SPEC.md §12.2); HandleReply
//     opens replies (one per replica and request, carrying the results of all its
//     operations) with the pairwise reply key (§12.3) and completes a request once
//     f+1 distinct replicas sealed equal result lists for it. A session has at
//     most one request outstanding, because Execution's deduplication caches only the
//     latest request's results per client (§11.5).
//   - Client: a blocking wrapper over a Transport with context timeouts and
//     retransmission, plus key-value helpers (Put, Get, Delete, CAS) for kv-v1.
//
// Safety for the client: a result is accepted only when f+1 execution enclaves sealed
// equal results under their own pairwise keys, so at most f faulty execution
// enclaves, any number of faulty brokers and any network can never make the client
// accept a wrong result.
package client
