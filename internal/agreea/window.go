package agreea

import (
	"cmp"
	"maps"
	"slices"
)

// InWindow reports whether base < s ≤ base + l, without overflow: whether s is in
// the window of length l above base (SPEC.md §8.3, §9, §10).
func InWindow(s, base, l uint64) bool { return s > base && s-base <= l }

// SortedKeys returns the keys of m in increasing order, so that every walk over a
// map that can affect an output or a dump is deterministic.
func SortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
