package ledger

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// The ledger's sealed archive for the recovery of a whole cluster (SPEC.md §13.5,
// §17.8): the exec's snapshot at a stable checkpoint (or an epoch's start) as the
// encrypted state chunks it emitted for the broker's own state request, and the exec
// group key as the exec sealed it. Neither is checked by Verify (the broker cannot
// open them; a recovering exec checks them) and neither holds plaintext.

// Key prefixes of the archive records.
const (
	prefixSnapshot byte = 's'
	prefixKey      byte = 'g'
)

// SnapshotRecord is the exec's snapshot at Seq with digest State: its encoded state
// chunks (spec.StateChunk, sealed under the state key of the epoch), all Count of
// them in index order.
type SnapshotRecord struct {
	_      struct{} `cbor:",toarray"`
	Seq    uint64
	State  spec.Digest
	Config spec.Digest // the digest of the configuration whose state key sealed the chunks (SPEC.md §12.4)
	Chunks [][]byte    // enc(spec.StateChunk), Index 0..Count-1
}

// KeyRecord is the exec group key as the exec sealed it for storage.
type KeyRecord struct {
	_      struct{} `cbor:",toarray"`
	Sealed []byte   // enc(spec.SealedGroupKey)
}

// Snapshot queues the snapshot record of seq (state its digest, chunks its encoded
// state chunks in index order, sealed under the state key of the configuration with
// digest cd). The writer stores it and deletes every older
// snapshot record in the same atomic, synced batch: an older snapshot disappears
// from disk only together with the newer one appearing. A snapshot below the one
// stored is ignored; one at the same seq replaces it (taken again at an epoch's start,
// sealed under the new epoch's state key). Event loop only.
func (l *Ledger) Snapshot(seq uint64, state, cd spec.Digest, chunks [][]byte) {
	l.submit(item{kind: itemSnapshot, seq: seq, state: state, digest: cd, cands: chunks})
}

// SealedKey queues the key record: sealed is enc(spec.SealedGroupKey) as the exec
// emitted it. It replaces the record stored before. A key in the insecure format (0:
// the group key itself, from an exec outside an enclave) is logged loudly: it is on
// disk in the clear (SPEC.md §11.2). Event loop only.
func (l *Ledger) SealedKey(sealed []byte) {
	var sk spec.SealedGroupKey
	if spec.Decode(sealed, &sk, spec.MaxBodyBytes(spec.KindSealedKey)) == nil && sk.Format == spec.SealInsecure {
		l.opt.Log.Warn("ledger: INSECURE: the exec group key is stored UNSEALED (dev-insecure exec, outside an enclave); anyone who reads this directory can decrypt every request and snapshot")
	}
	l.submit(item{kind: itemKey, cert: sealed})
}

// SnapshotSeq returns the sequence number of the newest snapshot record the writer
// stored (0: none). Any goroutine.
func (l *Ledger) SnapshotSeq() uint64 { return l.snapSeq.Load() }

// DefaultMinSnapshotLog is Options.MinSnapshotLog's default.
const DefaultMinSnapshotLog = 16 << 20

// SnapshotDue reports whether the broker should take a snapshot at its next stable
// checkpoint, to be sealed under the configuration of digest cd (SPEC.md §13.5): when
// the newest snapshot stored was sealed under another configuration, or there is
// none (each epoch needs one of its own, §17.8), and otherwise once the batch records
// written since it hold at least max(Options.MinSnapshotLog, its size) bytes. So writing
// snapshots costs at most about as much as writing the log, however large the state
// grows, and a recovery replays at most that much log after its base. Any goroutine.
func (l *Ledger) SnapshotDue(cd spec.Digest) bool { return l.snap.due(cd) }

// snapPolicy is what SnapshotDue decides on: the writer updates it.
type snapPolicy struct {
	mu    sync.Mutex
	min   uint64 // Options.MinSnapshotLog
	has   bool
	cd    spec.Digest // the configuration that sealed the newest snapshot stored
	size  uint64      // its record's size
	since uint64      // bytes of batch records written after it
}

func (p *snapPolicy) due(cd spec.Digest) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.has || p.cd != cd || p.since >= max(p.min, p.size)
}

// stored records a snapshot record written (or found at Open).
func (p *snapPolicy) stored(cd spec.Digest, size uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.has, p.cd, p.size, p.since = true, cd, size, 0
}

// logged counts batch record bytes written.
func (p *snapPolicy) logged(n uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.since += n
}

// logAbove sums the sizes of the batch records above seq (0 if they cannot be read).
func logAbove(db *pebble.DB, seq uint64) uint64 {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: key(prefixBatch, seq+1), UpperBound: []byte{prefixBatch + 1}})
	if err != nil {
		return 0
	}
	defer it.Close()
	var n uint64
	for ok := it.First(); ok; ok = it.Next() {
		n += uint64(len(it.Value()))
	}
	return n
}

// recordSize is a snapshot record's size in bytes (its chunks').
func recordSize(rec *SnapshotRecord) uint64 {
	var n uint64
	for _, c := range rec.Chunks {
		n += uint64(len(c))
	}
	return n
}

// applySnapshot adds a snapshot record to b and deletes the older ones.
func (l *Ledger) applySnapshot(b *pebble.Batch, it *item) bool {
	if it.seq == 0 || it.seq < max(l.snapSeq.Load(), l.pendingSnap) || len(it.cands) == 0 {
		return false
	}
	k := key(prefixSnapshot, it.seq)
	rec := &SnapshotRecord{Seq: it.seq, State: it.state, Config: it.digest, Chunks: it.cands}
	b.Set(k, sealValue(k, rec), nil)
	b.DeleteRange(key(prefixSnapshot, 0), k, nil)
	l.pendingSnap, l.pendingSnapCD, l.pendingSnapSize = it.seq, it.digest, recordSize(rec)
	l.pendingLog = 0 // only the batch records after it count towards the next
	return true
}

// applyKey adds the key record to b.
func (l *Ledger) applyKey(b *pebble.Batch, it *item) bool {
	k := key(prefixKey, 0)
	b.Set(k, sealValue(k, &KeyRecord{Sealed: it.cert}), nil)
	return true
}

// ErrNoArchive is returned by LatestSnapshot and Key when the record is missing.
var ErrNoArchive = errors.New("ledger: no such record")

// LatestSnapshot returns the newest snapshot record whose checksum holds.
func (l *Ledger) LatestSnapshot() (*SnapshotRecord, error) { return latestSnapshot(l.db) }

// Key returns the key record's sealed group key.
func (l *Ledger) Key() (*spec.SealedGroupKey, error) { return sealedKey(l.db) }

func latestSnapshot(db *pebble.DB) (*SnapshotRecord, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSnapshot}, UpperBound: []byte{prefixSnapshot + 1}})
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		var rec SnapshotRecord
		k := append([]byte(nil), it.Key()...)
		_, n, okKey := parseKey(k)
		if !okKey || openValue(k, it.Value(), &rec) != nil || rec.Seq != n {
			continue // torn or corrupt: an older one may still serve
		}
		return &rec, nil
	}
	return nil, fmt.Errorf("%w: snapshot", ErrNoArchive)
}

func sealedKey(db *pebble.DB) (*spec.SealedGroupKey, error) {
	k := key(prefixKey, 0)
	v, closer, err := db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: sealed group key", ErrNoArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer closer.Close()
	var rec KeyRecord
	var sk spec.SealedGroupKey
	if err := openValue(k, v, &rec); err != nil {
		return nil, fmt.Errorf("ledger: key record: %w", err)
	}
	if err := spec.Decode(rec.Sealed, &sk, spec.MaxBodyBytes(spec.KindSealedKey)); err != nil {
		return nil, fmt.Errorf("ledger: key record: %w", err)
	}
	return &sk, nil
}

// Batch returns the batch record of seq, checksum checked (the recovery's replay
// reads batches and their commit certificates from it, SPEC.md §17.8).
func (l *Ledger) Batch(seq uint64) (*BatchRecord, error) {
	var rec BatchRecord
	if err := l.get(key(prefixBatch, seq), &rec); err != nil {
		return nil, err
	}
	if rec.Seq != seq {
		return nil, fmt.Errorf("%w: batch record of seq %d stored at %d", ErrRecord, rec.Seq, seq)
	}
	return &rec, nil
}

// Checkpoint returns the checkpoint certificate recorded at seq (as recorded: the
// writer checked it when it wrote it; the reader of an offer checks it again).
func (l *Ledger) Checkpoint(seq uint64) (*spec.CheckpointCert, error) {
	var rec CheckpointRecord
	if err := l.get(key(prefixCheckpoint, seq), &rec); err != nil {
		return nil, err
	}
	var c spec.CheckpointCert
	if err := spec.Decode(rec.Cert, &c, spec.MaxMessageBytes); err != nil || c.Seq != seq {
		return nil, fmt.Errorf("%w: checkpoint record of seq %d", ErrRecord, seq)
	}
	return &c, nil
}

// Contiguous returns the highest s ≥ from such that the ledger holds a batch record
// for every sequence number in (from, s].
func (l *Ledger) Contiguous(from uint64) uint64 {
	s := from
	for {
		if _, err := l.Batch(s + 1); err != nil {
			return s
		}
		s++
	}
}

// get reads and opens the record at k.
func (l *Ledger) get(k []byte, rec any) error {
	v, closer, err := l.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: %x", ErrNoArchive, k)
	}
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer closer.Close()
	return openValue(k, v, rec)
}
