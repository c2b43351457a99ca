package kv

import (
	"bytes"

	"github.com/splitbft/splitbft/spec"
)

// maxOpBytes bounds the plaintext of an operation before it is decoded: a plaintext
// is at most a ciphertext (MaxOpBytesLimit) minus its 16-byte tag, so nothing longer
// can be a real operation.
const maxOpBytes = spec.MaxOpBytesLimit

// Store is the kv-v1 application state, which also executes the kv-v2 operations
// (SPEC.md §12.7) on the same map. The zero value is not usable; use New.
// A Store is not safe for concurrent use: the Execution compartment calls it from one
// Step at a time.
type Store struct {
	// m maps a key (as a string, so it can be a map key) to its value.
	// Invariant: every key is 1..MaxKVKey bytes and every value at most MaxKVValue
	// bytes; stored value slices are never modified in place (a put replaces them),
	// so they may be shared with results.
	m map[string][]byte
	// digest caches Digest(); valid only while digestOK. Every mutation clears
	// digestOK.
	digest   spec.Digest
	digestOK bool
	// snap is enc(KVSnapshot) of the state at the last Snapshot or Restore (never
	// modified: a new one replaces it), and dirty the keys put or deleted since, so
	// that a checkpoint costs a pass over snap plus the work on the dirty keys
	// instead of sorting the whole store (snapshot.go).
	snap  []byte
	dirty map[string]struct{}
	// rebuild is set instead of growing dirty past dirtyLimit (more keys changed
	// since the last snapshot than the store holds, as in a long recovery replay,
	// which takes no checkpoint): the next Snapshot sorts the whole store. The limit
	// bounds the memory of dirty; at that point the merge would cost about as much.
	rebuild bool
	// op is scratch space for decoding an operation (it escapes to the decoder, so a
	// local would be a heap allocation per operation). Zero between calls.
	op spec.KVOp
}

// New returns an empty store.
func New() *Store {
	return &Store{m: map[string][]byte{}, snap: emptySnapshot(), dirty: map[string]struct{}{}}
}

// Len returns the number of keys held.
func (s *Store) Len() int { return len(s.m) }

// Execute applies one operation, given as the plaintext enc(KVOp), and returns its
// result (SPEC.md §12.6, §12.7). It is deterministic and never panics: bytes that are not a
// valid operation give Result{StatusBadOp} and change nothing.
func (s *Store) Execute(op []byte) spec.Result {
	o := &s.op
	defer func() { *o = spec.KVOp{} }()
	if err := spec.Decode(op, o, maxOpBytes); err != nil {
		return s.execute2(op) // not a kv-v1 operation: maybe kv-v2 (SPEC.md §12.7)
	}
	if !validOp(o) {
		return spec.Result{Status: spec.StatusBadOp}
	}
	switch o.Op {
	case spec.KVPut:
		s.setOwned(o.Key, o.Value)
		return spec.Result{Status: spec.StatusOK}
	case spec.KVGet:
		return s.get(o.Key)
	case spec.KVDelete:
		return s.remove(o.Key)
	default: // spec.KVCAS: validOp admits no other op
		return s.cas(o)
	}
}

// validOp reports whether o may be executed: a known Op, a key of 1..MaxKVKey bytes,
// a value of at most MaxKVValue bytes and, if Absent, an empty Expected.
//
// SPEC.md (clarified after review): §12.6 lists the value bound and the Absent/Expected rule without
// naming the operations they apply to; they are applied literally to every operation
// (so a GET carrying a 17 KiB Value, or a DELETE with Absent and an Expected, is a
// bad operation). Expected itself has no length bound: an over-long Expected simply
// never matches.
func validOp(o *spec.KVOp) bool {
	switch {
	case o.Op < spec.KVPut || o.Op > spec.KVCAS:
		return false
	case len(o.Key) < 1 || len(o.Key) > spec.MaxKVKey:
		return false
	case len(o.Value) > spec.MaxKVValue:
		return false
	case o.Absent && len(o.Expected) != 0:
		return false
	}
	return true
}

func (s *Store) set(key, value []byte) {
	v := make([]byte, len(value))
	copy(v, value)
	s.setOwned(key, v)
}

// setOwned stores value itself, which nobody may modify afterwards: a copy, or a
// slice the strict decoder returned (it copies byte strings out of its input).
func (s *Store) setOwned(key, value []byte) {
	if value == nil {
		value = []byte{} // a stored value is never nil, as set's copy
	}
	k := string(key) // one copy, shared by the map and the dirty set
	s.m[k] = value
	s.touch(k)
}

func (s *Store) get(key []byte) spec.Result {
	v, ok := s.m[string(key)]
	if !ok {
		return spec.Result{Status: spec.StatusNotFound}
	}
	return spec.Result{Status: spec.StatusOK, Value: v}
}

func (s *Store) remove(key []byte) spec.Result {
	v, ok := s.m[string(key)]
	if !ok {
		return spec.Result{Status: spec.StatusNotFound}
	}
	k := string(key)
	delete(s.m, k)
	s.touch(k)
	return spec.Result{Status: spec.StatusOK, Value: v}
}

// cas implements compare-and-swap.
//
// SPEC.md (clarified after review): §12.6 writes "not Absent and m[Key] == Expected" without saying what
// m[Key] is for an absent key. Here an absent key never holds Expected, not even an
// empty Expected: only Absent matches an absent key (the mismatch result then carries
// the empty value).
func (s *Store) cas(o *spec.KVOp) spec.Result {
	cur, present := s.m[string(o.Key)]
	match := (o.Absent && !present) || (!o.Absent && present && bytes.Equal(cur, o.Expected))
	if !match {
		return spec.Result{Status: spec.StatusCASMismatch, Value: cur}
	}
	s.setOwned(o.Key, o.Value)
	return spec.Result{Status: spec.StatusOK}
}
