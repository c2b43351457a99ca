package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// fullSnapshot is the snapshot by definition (SPEC.md §12.6): every entry of the map,
// sorted by key, through the general encoder. It is the reference for Snapshot and
// the baseline of BenchmarkSnapshot.
func fullSnapshot(s *Store) []byte {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	snap := spec.KVSnapshot{Entries: make([]spec.KVEntry, len(keys))}
	for i, k := range keys {
		snap.Entries[i] = spec.KVEntry{Key: []byte(k), Value: s.m[k]}
	}
	return spec.Encode(&snap)
}

// randomOp draws an operation of kv-v1 or kv-v2 on keys k0..k{keys-1}, most of which
// change the state (puts, deletes, compare-and-swaps, sets, appends, increments,
// msetnx), with values whose lengths cross the CBOR head sizes.
func randomOp(rng *rand.Rand, keys int) []byte {
	key := func() string { return fmt.Sprintf("k%d", rng.IntN(keys)) }
	val := func() string {
		return string(bytes.Repeat([]byte{'a' + byte(rng.IntN(26))}, []int{0, 1, 23, 24, 255, 256}[rng.IntN(6)]))
	}
	switch rng.IntN(9) {
	case 0, 1:
		return put(key(), val())
	case 2, 3:
		return del(key())
	case 4:
		return cas(key(), val(), val(), rng.IntN(2) == 0)
	case 5:
		return set2(key(), val(), 0)
	case 6:
		return appendOp(key(), val())
	case 7:
		return incr(key(), rng.Uint64N(100), rng.IntN(2) == 0)
	default:
		return msetnx(key(), val(), key(), val())
	}
}

// TestSnapshotIncremental: after any sequence of operations, snapshots and restores,
// Snapshot equals the snapshot by definition (sorted, general encoder), and a store
// restored from it snapshots the same bytes; key spaces small and large so that keys
// are often deleted and inserted again between two snapshots.
func TestSnapshotIncremental(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 0x5a))
		keys := []int{3, 40, 400, 5000}[seed-1]
		s := New()
		for round := range 300 {
			for range rng.IntN(60) {
				s.Execute(randomOp(rng, keys))
			}
			got, want := s.Snapshot(), fullSnapshot(s)
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d round %d: Snapshot differs from the sorted snapshot (%d keys)\n got % x\nwant % x", seed, round, s.Len(), got, want)
			}
			if again := s.Snapshot(); !bytes.Equal(again, want) {
				t.Fatalf("seed %d round %d: a second Snapshot differs", seed, round)
			}
			if rng.IntN(10) == 0 { // a state transfer: continue from the restored state
				r := New()
				r.Execute(put("stale", "x")) // its own changes must not survive Restore
				if err := r.Restore(got); err != nil {
					t.Fatalf("seed %d round %d: %v", seed, round, err)
				}
				if !bytes.Equal(r.Snapshot(), want) || r.Len() != s.Len() {
					t.Fatalf("seed %d round %d: the restored store snapshots differently", seed, round)
				}
				s = r
			}
		}
	}
}

// TestSnapshotNotAliased: Restore keeps its own copy of the snapshot, so a caller that
// reuses its buffer does not change the store's next snapshot.
func TestSnapshotNotAliased(t *testing.T) {
	s := New()
	s.Execute(put("a", "1"))
	buf := bytes.Clone(s.Snapshot())
	r := New()
	if err := r.Restore(buf); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	r.Execute(put("b", "2"))
	if got, want := r.Snapshot(), fullSnapshot(r); !bytes.Equal(got, want) {
		t.Fatalf("after the caller's buffer changed: % x, want % x", got, want)
	}
}

// BenchmarkSnapshot measures a checkpoint's snapshot of a store of n keys after 600
// puts since the last one (a checkpoint interval of 16 batches of about 37 one-operation
// requests, the process cluster's): incremental is Snapshot, full-sort the snapshot by
// definition that Snapshot replaced. Compare the two in one run.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		s := New()
		for i := range n {
			s.Execute(put(fmt.Sprintf("c%d/k%d", i%64, i), "vvvvvvvvvvvvvvvvvvvv"))
		}
		s.Snapshot()
		rng := rand.New(rand.NewPCG(uint64(n), 0))
		change := func() {
			for range 600 {
				s.Execute(put(fmt.Sprintf("c%d/k%d", rng.IntN(64), rng.IntN(n+n/10)), "wwwwwwwwwwwwwwwwwwww"))
			}
		}
		for _, mode := range []struct {
			name string
			snap func(*Store) []byte
		}{{"incremental", (*Store).Snapshot}, {"full-sort", fullSnapshot}} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, mode.name), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					change()
					b.StartTimer()
					mode.snap(s)
				}
			})
		}
	}
}
