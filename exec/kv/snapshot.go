package kv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// domainAppDigest separates the application digest from every digest of SPEC.md §3.2.
// The application digest is a local debugging aid (DebugState); it is never sent.
const domainAppDigest = "splitbft/v1/kv-app-snapshot"

// ErrBadSnapshot is wrapped by every Restore error.
var ErrBadSnapshot = errors.New("kv: bad snapshot")

// Snapshot returns the canonical snapshot enc(KVSnapshot) with entries sorted by key
// (bytewise). Equal states give equal bytes. The caller must not modify the result.
//
// It runs at every checkpoint (SPEC.md §11.5), so it must not sort the whole store
// each time: it merges the keys changed since the last snapshot, sorted, into that
// snapshot's entries, copying every unchanged entry as it is. A checkpoint then costs
// one sequential pass over the previous snapshot and the work on the changed keys.
// Only after more changes than dirtyLimit records does it sort the whole store
// (fullSnapshot).
func (s *Store) Snapshot() []byte {
	if s.rebuild {
		return s.fullSnapshot()
	}
	if len(s.dirty) == 0 {
		return s.snap
	}
	changed := make([]string, 0, len(s.dirty))
	extra := 0
	for k := range s.dirty {
		changed = append(changed, k)
		extra += 1 + 9 + len(k) + 9 + len(s.m[k])
	}
	slices.Sort(changed)
	// The entries are written after room for the longest head of the two arrays; the
	// head, known once they are counted, goes just before them.
	const room = 1 + 9
	out := make([]byte, room, room+len(s.snap)+extra)
	old := entries(s.snap)
	count := uint64(0)
	emit := func(k string) { // k's current entry, if it is present
		if v, ok := s.m[k]; ok {
			out = appendEntry(out, k, v)
			count++
		}
	}
	for {
		key, entry, ok := old.next()
		for len(changed) > 0 && (!ok || changed[0] < string(key)) {
			emit(changed[0]) // inserted since: not in the old snapshot
			changed = changed[1:]
		}
		if !ok {
			break
		}
		if len(changed) > 0 && changed[0] == string(key) {
			emit(changed[0]) // updated or deleted
			changed = changed[1:]
			continue
		}
		out = append(out, entry...)
		count++
	}
	head := spec.AppendHead(spec.AppendHead(make([]byte, 0, room), 4, 1), 4, count)
	start := room - len(head)
	copy(out[start:], head)
	s.snap = out[start:len(out):len(out)] // no spare capacity: an append by a caller copies
	s.resetDirty()
	return s.snap
}

// fullSnapshot encodes every entry of the store in sorted key order, and makes it the
// cached snapshot.
func (s *Store) fullSnapshot() []byte {
	keys := make([]string, 0, len(s.m))
	size := 2 + 9
	for k, v := range s.m {
		keys = append(keys, k)
		size += 1 + 9 + len(k) + 9 + len(v)
	}
	slices.Sort(keys)
	out := spec.AppendHead(spec.AppendHead(make([]byte, 0, size), 4, 1), 4, uint64(len(keys)))
	for _, k := range keys {
		out = appendEntry(out, k, s.m[k])
	}
	s.snap = out[:len(out):len(out)]
	s.resetDirty()
	return s.snap
}

// resetDirty empties the dirty set; a large one is replaced rather than cleared, as
// clearing a map costs its capacity at every later checkpoint too.
func (s *Store) resetDirty() {
	s.rebuild = false
	if len(s.dirty) > 4096 {
		s.dirty = map[string]struct{}{}
		return
	}
	clear(s.dirty)
}

// touch records that key k changed (put or deleted) since the last snapshot; past
// dirtyLimit it drops the record and marks the store for a full rebuild instead.
func (s *Store) touch(k string) {
	s.digestOK = false
	if s.rebuild {
		return
	}
	if len(s.dirty) >= s.dirtyLimit() {
		if _, recorded := s.dirty[k]; !recorded {
			s.rebuild = true
			s.dirty = map[string]struct{}{}
			return
		}
	}
	s.dirty[k] = struct{}{}
}

// dirtyLimit is the most changed keys recorded between two snapshots: as many as the
// store holds, and at least minDirtyLimit.
func (s *Store) dirtyLimit() int { return max(len(s.m), minDirtyLimit) }

// minDirtyLimit is above the keys one checkpoint interval can change with the
// defaults of broker.Setup (16 batches of 200 requests of 16 operations: 51,200), so
// that a small store under a heavy load still merges. A variable only so that a test
// can lower it to reach the rebuild often.
var minDirtyLimit = 1 << 16

// emptySnapshot is enc(KVSnapshot{}).
func emptySnapshot() []byte {
	return slices.Clip(spec.AppendHead(spec.AppendHead(nil, 4, 1), 4, 0))
}

// appendEntry appends enc(KVEntry{k, v}).
func appendEntry(dst []byte, k string, v []byte) []byte {
	dst = append(spec.AppendHead(spec.AppendHead(dst, 4, 2), 2, uint64(len(k))), k...)
	return append(spec.AppendHead(dst, 2, uint64(len(v))), v...)
}

// entryReader walks the entries of a snapshot this store wrote or accepted (so
// canonical and well formed).
type entryReader struct {
	b   []byte
	pos int
}

// entries returns a reader of snap's entries, positioned at the first.
func entries(snap []byte) entryReader {
	r := entryReader{b: snap}
	r.head() // the KVSnapshot array
	r.head() // the Entries array
	return r
}

// head reads a canonical head and returns its argument.
func (r *entryReader) head() uint64 {
	ai := r.b[r.pos] & 31
	r.pos++
	if ai < 24 {
		return uint64(ai)
	}
	size := 1 << (ai - 24) // 24..27: 1, 2, 4 or 8 bytes
	var n uint64
	for _, c := range r.b[r.pos : r.pos+size] {
		n = n<<8 | uint64(c)
	}
	r.pos += size
	return n
}

// next returns the next entry's key and its whole encoding; ok is false at the end.
func (r *entryReader) next() (key, entry []byte, ok bool) {
	if r.pos >= len(r.b) {
		return nil, nil, false
	}
	start := r.pos
	r.head() // [key, value]
	n := int(r.head())
	key = r.b[r.pos : r.pos+n]
	r.pos += n
	r.pos += int(r.head())
	return key, r.b[start:r.pos], true
}

// Restore replaces the whole state with the one encoded in snapshot. It accepts only
// the canonical encoding (§2.3) of a KVSnapshot whose keys are strictly increasing,
// 1..MaxKVKey bytes, with values of at most MaxKVValue bytes; otherwise it returns an
// error and leaves the state unchanged.
func (s *Store) Restore(snapshot []byte) error {
	var snap spec.KVSnapshot
	if err := spec.Decode(snapshot, &snap, spec.MaxSnapshotBytes); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	m := make(map[string][]byte, len(snap.Entries))
	for i := range snap.Entries {
		e := &snap.Entries[i]
		if len(e.Key) < 1 || len(e.Key) > spec.MaxKVKey || len(e.Value) > spec.MaxKVValue {
			return fmt.Errorf("%w: entry %d out of bounds", ErrBadSnapshot, i)
		}
		if i > 0 && bytes.Compare(snap.Entries[i-1].Key, e.Key) >= 0 {
			return fmt.Errorf("%w: keys not strictly increasing at entry %d", ErrBadSnapshot, i)
		}
		m[string(e.Key)] = e.Value
	}
	s.m = m
	s.snap = slices.Clip(bytes.Clone(snapshot)) // canonical and checked: the entries of m in key order
	s.resetDirty()
	s.digestOK = false
	return nil
}

// Digest returns a digest of Snapshot(), cached until the next change of state.
func (s *Store) Digest() spec.Digest {
	if !s.digestOK {
		s.digest = spec.Hash(domainAppDigest, s.Snapshot())
		s.digestOK = true
	}
	return s.digest
}
