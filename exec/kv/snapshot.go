package kv

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/splitbft/splitbft/spec"
)

// domainAppDigest separates the application digest from every digest of SPEC.md §3.2.
// The application digest is a local debugging aid (DebugState); it is never sent.
const domainAppDigest = "splitbft/v1/kv-app-snapshot"

// ErrBadSnapshot is wrapped by every Restore error.
var ErrBadSnapshot = errors.New("kv: bad snapshot")

// Snapshot returns the canonical snapshot enc(KVSnapshot) with entries sorted by key
// (bytewise). Equal states give equal bytes.
func (s *Store) Snapshot() []byte {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // Go string order is bytewise order
	snap := spec.KVSnapshot{Entries: make([]spec.KVEntry, len(keys))}
	for i, k := range keys {
		snap.Entries[i] = spec.KVEntry{Key: []byte(k), Value: s.m[k]}
	}
	return spec.Encode(&snap)
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
