// Package ledger is the broker's durable, auditable ledger (SPEC.md §13.5): an
// embedded pebble store, kept by the UNTRUSTED broker, of the batches its exec
// executed (exactly as proposed: client ciphertexts only), their commit certificates,
// the stable checkpoint certificates, the configuration the replica started with and
// the epoch changes it adopted since (Epoch). Batch records form a hash chain; every
// record carries a checksum.
//
// The broker feeds a Ledger from its event loop (Observe for the COMMITs, proposals,
// CHECKPOINTs and NEW-VIEWs it routes, Executed when its exec's Status reports
// progress); a background writer verifies and appends them, many per fsync (group
// commit). Durable reports the highest sequence number whose records are on disk,
// and the broker releases a client reply only once the batch it answers is durable.
//
// Nothing here is trusted by the protocol: a broker that loses or forges its ledger
// can only hurt its own replica and its own audit trail. Verify checks a ledger
// offline against a configuration (signatures, certificates, links); a Receipt lets a
// client prove that its operation was committed at a sequence number.
package ledger
