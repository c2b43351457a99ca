package prepa

import (
	"cmp"
	"maps"
	"slices"
)

// sortedKeys returns the keys of m in increasing order, so that every walk over a
// map that can affect an output or a dump is deterministic.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
