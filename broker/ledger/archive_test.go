package ledger

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/splitbft/splitbft/spec"
)

// chunksOf returns n fake encoded state chunks of (seq, state).
func chunksOf(seq uint64, state spec.Digest, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, spec.Encode(&spec.StateChunk{Seq: seq, State: state, Index: uint64(i), Count: uint64(n), Size: 3, Ciphertext: []byte{byte(seq), byte(i)}}))
	}
	return out
}

// TestArchive: snapshot and key records survive a reopen; a newer snapshot replaces
// the older ones (deleted in the same synced batch), an older one is ignored and one
// at the same seq replaces it; the key record is replaced; the archive does not disturb Verify; a corrupt
// snapshot record is skipped (SPEC.md §13.5 records 's' and 'g').
func TestArchive(t *testing.T) {
	f := newFx(t, 31)
	l := f.open(Options{})
	f.feed(l, 1, 8)
	f.waitDurable(l, 8)
	if _, err := l.LatestSnapshot(); !errors.Is(err, ErrNoArchive) {
		t.Fatalf("seed %d: empty ledger's snapshot: %v", f.seed, err)
	}
	l.Snapshot(4, stateAt(4), spec.Digest{}, chunksOf(4, stateAt(4), 2))
	l.Snapshot(8, stateAt(8), spec.Digest{}, chunksOf(8, stateAt(8), 3))
	l.Snapshot(6, stateAt(6), spec.Digest{}, chunksOf(6, stateAt(6), 1)) // older than 8: ignored
	l.Snapshot(8, stateAt(8), spec.Digest{}, chunksOf(8, stateAt(8), 4)) // 8 again (an epoch start): replaces
	key1 := spec.Encode(&spec.SealedGroupKey{Format: spec.SealInsecure, Data: bytes.Repeat([]byte{1}, 32)})
	key2 := spec.Encode(&spec.SealedGroupKey{Format: spec.SealEGoProduct, Data: []byte("sealed")})
	l.SealedKey(key1)
	l.SealedKey(key2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = f.open(Options{})
	rec, err := l.LatestSnapshot()
	if err != nil || rec.Seq != 8 || rec.State != stateAt(8) || len(rec.Chunks) != 4 || !bytes.Equal(rec.Chunks[2], chunksOf(8, stateAt(8), 4)[2]) || l.SnapshotSeq() != 8 {
		t.Fatalf("seed %d: snapshot after reopen: %+v, %v (SnapshotSeq %d)", f.seed, rec, err, l.SnapshotSeq())
	}
	if c := l.Contiguous(0); c != 8 {
		t.Fatalf("seed %d: contiguous from 0: %d, want 8", f.seed, c)
	}
	if b, err := l.Batch(3); err != nil || b.Seq != 3 {
		t.Fatalf("seed %d: batch 3: %+v, %v", f.seed, b, err)
	}
	if c, err := l.Checkpoint(4); err != nil || c.Seq != 4 || len(c.Proof) != f.cfg.Quorum() {
		t.Fatalf("seed %d: checkpoint 4: %+v, %v", f.seed, c, err)
	}
	if _, err := l.Batch(9); !errors.Is(err, ErrNoArchive) {
		t.Fatalf("seed %d: batch 9 beyond the end: %v", f.seed, err)
	}
	sk, err := l.Key()
	if err != nil || sk.Format != spec.SealEGoProduct || string(sk.Data) != "sealed" {
		t.Fatalf("seed %d: key: %+v, %v", f.seed, sk, err)
	}
	l.Close()
	if _, err := Verify(f.dir, f.cfg); err != nil {
		t.Fatalf("seed %d: verify with archive records: %v", f.seed, err)
	}
	f.edit(func(db *pebble.DB) {
		for _, s := range []uint64{4, 6} {
			if _, c, err := db.Get(key(prefixSnapshot, s)); err == nil {
				c.Close()
				t.Fatalf("seed %d: snapshot record %d still stored", f.seed, s)
			}
		}
		v := get(t, db, key(prefixSnapshot, 8))
		v[3] ^= 1
		set(t, db, key(prefixSnapshot, 8), v)
	})
	l = f.open(Options{})
	defer l.Close()
	if rec, err := l.LatestSnapshot(); !errors.Is(err, ErrNoArchive) {
		t.Fatalf("seed %d: corrupt snapshot returned: %+v, %v", f.seed, rec, err)
	}
}

// TestSnapshotDue: a snapshot is due when none is stored, when the newest was sealed
// under another configuration, and once the batch records written after it reach
// max(Options.MinSnapshotLog, its size), also across a reopen; not before.
func TestSnapshotDue(t *testing.T) {
	f := newFx(t, 32)
	const minLog = 4000
	hold, held := make(chan struct{}), make(chan struct{})
	first := true
	l := f.open(Options{MinSnapshotLog: minLog, beforeSync: func() {
		if first { // the writer's first fsync waits, so that what follows is written in one batch
			first = false
			close(held)
			<-hold
		}
	}})
	cd, other := spec.ConfigDigest(f.cfg), spec.Hash("another configuration", nil)
	if !l.SnapshotDue(cd) {
		t.Fatalf("seed %d: no snapshot stored, yet none due", f.seed)
	}
	f.feed(l, 1, 1)
	<-held
	f.feed(l, 2, 8)
	l.Snapshot(8, stateAt(8), cd, chunksOf(8, stateAt(8), 2))
	f.feed(l, 9, 9)
	close(hold)
	f.waitDurable(l, 9) // the writer takes items in order: the snapshot is stored
	if got, want := l.snap.since, logAbove(l.db, 8); got != want {
		t.Fatalf("seed %d: %d bytes counted after the snapshot, want %d (the batch records above it)", f.seed, got, want)
	}
	if l.SnapshotDue(cd) || !l.SnapshotDue(other) {
		t.Fatalf("seed %d: right after a snapshot: due %v under its configuration (want false), %v under another (want true)",
			f.seed, l.SnapshotDue(cd), l.SnapshotDue(other))
	}
	s := uint64(9)
	for ; !l.SnapshotDue(cd) && s < 500; s++ {
		f.feed(l, s+1, s+1)
		f.waitDurable(l, s+1)
	}
	if l.snap.since < minLog || s >= 500 {
		t.Fatalf("seed %d: due after %d bytes of log (%d batches), want at least %d", f.seed, l.snap.since, s-9, minLog)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = f.open(Options{MinSnapshotLog: minLog})
	defer l.Close()
	if !l.SnapshotDue(cd) {
		t.Fatalf("seed %d: not due after a reopen: the log written before it was not counted", f.seed)
	}
	l.Snapshot(s, stateAt(s), cd, chunksOf(s, stateAt(s), 1))
	f.feed(l, s+1, s+1)
	f.waitDurable(l, s+1)
	if l.SnapshotDue(cd) {
		t.Fatalf("seed %d: due right after a snapshot taken after a reopen", f.seed)
	}
}
