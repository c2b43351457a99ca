package kv

import (
	"strconv"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the kv-v2 operations (SPEC.md §12.7): what the Redis gateway needs
// beyond kv-v1. They act on the same map as kv-v1, so the snapshot is unchanged.

// execute2 runs a plaintext that is not a kv-v1 operation: a valid KVOp2, or BadOp.
func (s *Store) execute2(op []byte) spec.Result {
	var o spec.KVOp2
	if err := spec.Decode(op, &o, maxOpBytes); err != nil || !validOp2(&o) {
		return spec.Result{Status: spec.StatusBadOp}
	}
	switch o.Op {
	case spec.KVSet:
		return s.setFlags(&o)
	case spec.KVIncrBy:
		return s.incrBy(o.Keys[0], o.Delta, o.Neg)
	case spec.KVAppend:
		return s.appendValue(o.Keys[0], o.Values[0])
	case spec.KVStrlen:
		return s.strlen(o.Keys[0])
	default: // spec.KVMSetNX: validOp2 admits no other op
		return s.msetnx(o.Keys, o.Values)
	}
}

// validOp2 checks every validity rule of SPEC.md §12.7 for a decoded KVOp2.
func validOp2(o *spec.KVOp2) bool {
	if o.Op < spec.KVSet || o.Op > spec.KVMSetNX || len(o.Keys) < 1 || len(o.Keys) > spec.MaxKV2Keys {
		return false
	}
	if o.Op != spec.KVMSetNX && len(o.Keys) != 1 {
		return false
	}
	if len(o.Values) != wantValues(o) || !boundedKeys(o.Keys) || !boundedValues(o.Values) {
		return false
	}
	if o.Op == spec.KVSet {
		both := spec.KVSetNX | spec.KVSetXX
		if o.Flags >= 8 || o.Flags&both == both {
			return false
		}
	} else if o.Flags != 0 {
		return false
	}
	if o.Op != spec.KVIncrBy {
		return o.Delta == 0 && !o.Neg
	}
	if o.Neg {
		return o.Delta >= 1 && o.Delta <= 1<<63
	}
	return o.Delta <= 1<<63-1
}

// wantValues is the number of Values the operation must carry.
func wantValues(o *spec.KVOp2) int {
	switch o.Op {
	case spec.KVSet, spec.KVAppend:
		return 1
	case spec.KVMSetNX:
		return len(o.Keys)
	}
	return 0
}

func boundedKeys(keys [][]byte) bool {
	for _, k := range keys {
		if len(k) < 1 || len(k) > spec.MaxKVKey {
			return false
		}
	}
	return true
}

func boundedValues(values [][]byte) bool {
	for _, v := range values {
		if len(v) > spec.MaxKVValue {
			return false
		}
	}
	return true
}

// setFlags is SET with NX, XX and GET.
func (s *Store) setFlags(o *spec.KVOp2) spec.Result {
	key := o.Keys[0]
	old, present := s.m[string(key)]
	cond := (o.Flags&spec.KVSetNX == 0 || !present) && (o.Flags&spec.KVSetXX == 0 || present)
	if cond {
		s.set(key, o.Values[0])
	}
	switch {
	case o.Flags&spec.KVSetGet != 0 && present:
		return spec.Result{Status: spec.StatusOK, Value: old}
	case o.Flags&spec.KVSetGet != 0, !cond:
		return spec.Result{Status: spec.StatusNotFound}
	}
	return spec.Result{Status: spec.StatusOK}
}

// incrBy adds +delta (or −delta when neg) to the integer the key holds (0 if absent).
func (s *Store) incrBy(key []byte, delta uint64, neg bool) spec.Result {
	var cur int64
	if v, ok := s.m[string(key)]; ok {
		n, ok := ParseInt(v)
		if !ok {
			return spec.Result{Status: spec.StatusNotInteger}
		}
		cur = n
	}
	next, ok := addSigned(cur, delta, neg)
	if !ok {
		return spec.Result{Status: spec.StatusOverflow}
	}
	out := []byte(strconv.FormatInt(next, 10))
	s.set(key, out)
	return spec.Result{Status: spec.StatusOK, Value: out}
}

// addSigned returns cur ± delta and whether it stays within int64. delta ≤ 2^63 when
// neg, ≤ 2^63 − 1 otherwise (validOp2).
func addSigned(cur int64, delta uint64, neg bool) (int64, bool) {
	if !neg {
		d := int64(delta)
		if cur > 0 && d > int64(^uint64(0)>>1)-cur {
			return 0, false
		}
		return cur + d, true
	}
	if delta == 1<<63 { // −2^63: only a non-negative cur stays in range
		if cur < 0 {
			return 0, false
		}
		return cur + -1<<63, true
	}
	d := int64(delta)
	if cur < 0 && cur < -1<<63+d {
		return 0, false
	}
	return cur - d, true
}

// ParseInt parses v as Redis's string2ll does (SPEC.md §12.7 "holds an integer"):
// "0", or an optional '-' then a non-zero digit and more digits, within int64.
func ParseInt(v []byte) (int64, bool) {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	if digits[0] == '0' && (len(digits) > 1 || len(v) > 1) { // leading zero, or "-0"
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// appendValue appends suffix to the key's value and returns the new length.
func (s *Store) appendValue(key, suffix []byte) spec.Result {
	old := s.m[string(key)]
	if len(old)+len(suffix) > spec.MaxKVValue {
		return spec.Result{Status: spec.StatusTooLarge}
	}
	next := make([]byte, 0, len(old)+len(suffix))
	next = append(append(next, old...), suffix...)
	s.setOwned(key, next) // a fresh slice: stored values are never modified in place
	return spec.Result{Status: spec.StatusOK, Value: []byte(strconv.Itoa(len(next)))}
}

func (s *Store) strlen(key []byte) spec.Result {
	v, ok := s.m[string(key)]
	if !ok {
		return spec.Result{Status: spec.StatusNotFound}
	}
	return spec.Result{Status: spec.StatusOK, Value: []byte(strconv.Itoa(len(v)))}
}

// msetnx sets every key, in order, only if none of them exists.
func (s *Store) msetnx(keys, values [][]byte) spec.Result {
	for _, k := range keys {
		if _, ok := s.m[string(k)]; ok {
			return spec.Result{Status: spec.StatusOK, Value: []byte("0")}
		}
	}
	for i, k := range keys {
		s.set(k, values[i])
	}
	return spec.Result{Status: spec.StatusOK, Value: []byte("1")}
}

// ExecuteRead answers a read-only operation — a kv-v1 get or a kv-v2 strlen — without
// changing the state, for the fast read path (SPEC.md §16.6); ok is false for any
// other operation.
func (s *Store) ExecuteRead(op []byte) (spec.Result, bool) {
	var o spec.KVOp
	if spec.Decode(op, &o, maxOpBytes) == nil {
		if o.Op != spec.KVGet || !validOp(&o) {
			return spec.Result{}, false
		}
		return s.get(o.Key), true
	}
	var o2 spec.KVOp2
	if spec.Decode(op, &o2, maxOpBytes) != nil || o2.Op != spec.KVStrlen || !validOp2(&o2) {
		return spec.Result{}, false
	}
	return s.strlen(o2.Keys[0]), true
}
