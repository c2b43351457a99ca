package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/splitbft/splitbft/spec"
)

// Domain strings of the ledger's hashes (SPEC.md §13.5).
const (
	DomainLink   = "splitbft/v1/ledger-link"   // link of a batch record to its predecessor
	DomainAnchor = "splitbft/v1/ledger-anchor" // the link a chain starts from at a checkpoint
)

// maxRecordBytes caps a stored record: a batch (at most spec.MaxMessageBytes) and its
// certificate.
const maxRecordBytes = spec.MaxMessageBytes + 1<<20

// Key prefixes. Keys are prefix || u64(seq or index); pebble sorts them bytewise, so
// each kind is one range in sequence order.
const (
	prefixBatch      byte = 'b'
	prefixConfig     byte = 'c'
	prefixCheckpoint byte = 'k'
	prefixEpoch      byte = 'e'
	prefixPrune      byte = 'p' // retain.go
)

// BatchRecord is the record of the batch executed at Seq (SPEC.md §13.5).
type BatchRecord struct {
	_     struct{}    `cbor:",toarray"`
	Seq   uint64      // sequence number, ≥ 1
	Batch []byte      // enc(spec.Batch), exactly as proposed (client ciphertexts only)
	Cert  [][]byte    // q enc(spec.Commit) for (view, Seq, BatchDigest(Batch)), replica ids strictly increasing
	Link  spec.Digest // Link(link of Seq−1, Seq, BatchDigest(Batch))
}

// CheckpointRecord is the record of a stable checkpoint certificate.
type CheckpointRecord struct {
	_    struct{} `cbor:",toarray"`
	Seq  uint64   // the certificate's Seq, > 0
	Cert []byte   // enc(spec.CheckpointCert)
}

// ConfigRecord is the record of a configuration the replica runs.
type ConfigRecord struct {
	_      struct{} `cbor:",toarray"`
	Config []byte   // enc(spec.Config)
}

// EpochRecord is the record of an epoch change the broker adopted (SPEC.md §13.5,
// §17.4), stored at the key of the epoch it starts.
type EpochRecord struct {
	_      struct{} `cbor:",toarray"`
	Change []byte   // enc(spec.Step): an epoch change or a recovery (SPEC.md §17.8) and what certifies it
}

// PruneRecord says that retention deleted the batch records at or below Seq (SPEC.md
// §13.5, "Retention"); Link is link(Seq) as the deleted record of Seq held it (a cut is
// always at a batch record). The first batch record above Seq continues the chain
// from it when it is Seq+1. Stored twice, at 'p' || u64(0) and 'p' || u64(1),
// replaced by each prune.
type PruneRecord struct {
	_    struct{} `cbor:",toarray"`
	Seq  uint64
	Link spec.Digest
}

// Link returns the chain link of the batch with digest d at seq following link prev:
// H(DomainLink, prev || u64(seq) || d).
func Link(prev spec.Digest, seq uint64, d spec.Digest) spec.Digest {
	data := make([]byte, 0, 72)
	data = append(data, prev[:]...)
	data = binary.BigEndian.AppendUint64(data, seq)
	return spec.Hash(DomainLink, append(data, d[:]...))
}

// AnchorLink returns the link a chain continues from at a stable checkpoint (seq,
// state): H(DomainAnchor, u64(seq) || state). The chain of a ledger that starts at
// genesis continues from AnchorLink(0, 0^32).
func AnchorLink(seq uint64, state spec.Digest) spec.Digest {
	return spec.Hash(DomainAnchor, append(spec.U64(seq), state[:]...))
}

// StartLink returns the link the first batch of the epoch of cfg continues:
// AnchorLink(cfg.StartSeq, cfg.StartState), and AnchorLink(0, 0^32) for an epoch that
// starts at genesis (StartSeq 0).
func StartLink(cfg *spec.Config) spec.Digest {
	if cfg.StartSeq == 0 {
		return AnchorLink(0, spec.Digest{})
	}
	return AnchorLink(cfg.StartSeq, cfg.StartState)
}

// key returns prefix || u64(n).
func key(prefix byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefix}, n)
}

// parseKey splits a stored key; ok is false for a key of another shape.
func parseKey(k []byte) (prefix byte, n uint64, ok bool) {
	if len(k) != 9 {
		return 0, 0, false
	}
	return k[0], binary.BigEndian.Uint64(k[1:]), true
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// checksum is CRC-32C over key || payload.
func checksum(k, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(k, crcTable), crcTable, payload)
}

// sealValue returns a stored value: enc(rec) || u32(CRC-32C(key || enc(rec))).
func sealValue(k []byte, rec any) []byte {
	payload := spec.Encode(rec)
	return binary.BigEndian.AppendUint32(payload, checksum(k, payload))
}

// Errors of opening a stored value.
var (
	ErrChecksum = errors.New("ledger: checksum mismatch")
	ErrRecord   = errors.New("ledger: record malformed")
)

// openValue checks a stored value's checksum and decodes its payload into rec.
func openValue(k, v []byte, rec any) error {
	if len(v) < 4 {
		return fmt.Errorf("%w: %d bytes", ErrChecksum, len(v))
	}
	payload := v[:len(v)-4]
	if checksum(k, payload) != binary.BigEndian.Uint32(v[len(v)-4:]) {
		return ErrChecksum
	}
	if err := spec.Decode(payload, rec, maxRecordBytes); err != nil {
		return fmt.Errorf("%w: %v", ErrRecord, err)
	}
	return nil
}
