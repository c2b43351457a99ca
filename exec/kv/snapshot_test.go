package kv

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// sortedSnapshot is the snapshot by definition (SPEC.md §12.6): every entry of the map,
// sorted by key, through the general encoder. It is the reference for Snapshot and
// the baseline of BenchmarkSnapshot.
func sortedSnapshot(s *Store) []byte {
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

// randomOp draws an operation of kv-v1 or kv-v2 on keys k0..k{keys-1} (some of them
// binary, up to 256 bytes, with 0x00 and 0xff bytes, so that byte order and key
// lengths cross the CBOR head sizes), most of which change the state (puts, deletes,
// compare-and-swaps, sets with and without NX/XX/GET, appends, increments, msetnx),
// with values whose lengths cross the head sizes too.
func randomOp(rng *rand.Rand, keys int) []byte {
	key := func() string {
		i := rng.IntN(keys)
		if i%3 == 0 {
			return string(append(bytes.Repeat([]byte{byte(0xff * (i % 2))}, i%255), byte(i), byte(i>>8))) // 2..256 bytes
		}
		return fmt.Sprintf("k%d", i)
	}
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
		return set2(key(), val(), []uint64{0, spec.KVSetNX, spec.KVSetXX, spec.KVSetGet, spec.KVSetXX | spec.KVSetGet}[rng.IntN(5)])
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
			got, want := s.Snapshot(), sortedSnapshot(s)
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d round %d: Snapshot differs from the sorted snapshot (%d keys)\n got % x\nwant % x", seed, round, s.Len(), got, want)
			}
			if again := s.Snapshot(); !bytes.Equal(again, want) {
				t.Fatalf("seed %d round %d: a second Snapshot differs", seed, round)
			}
			if rng.IntN(10) == 0 { // a state transfer: continue from the restored state
				r := New()
				r.Execute(put("stale", "x")) // replaced by Restore
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

// TestSnapshotLargeStore: a merge that takes the store from 65,535 to 65,536 entries
// (the count's head grows from three bytes to five), then changes, snapshots and a
// restore past it, each equal to the snapshot by definition.
func TestSnapshotLargeStore(t *testing.T) {
	const seed = 9
	rng := rand.New(rand.NewPCG(seed, 0))
	s := New()
	for i := range 65_535 {
		s.Execute(put(fmt.Sprintf("c%d/k%d", i%64, i), "v"))
	}
	if got := s.Snapshot(); s.rebuild || !bytes.Equal(got, sortedSnapshot(s)) {
		t.Fatalf("65,535 keys: rebuild %v, or Snapshot differs from the sorted snapshot", s.rebuild)
	}
	s.Execute(put("one more", "v"))
	if got := s.Snapshot(); !bytes.Equal(got, sortedSnapshot(s)) || got[1] != 0x9a {
		t.Fatalf("65,536 keys: Snapshot differs from the sorted snapshot, or its count head is % x", got[:6])
	}
	for round := range 3 {
		for range 2_000 {
			s.Execute(randomOp(rng, 80_000))
		}
		got := s.Snapshot()
		if !bytes.Equal(got, sortedSnapshot(s)) {
			t.Fatalf("seed %d round %d: Snapshot of %d keys differs from the sorted snapshot", seed, round, s.Len())
		}
		r := New()
		if err := r.Restore(got); err != nil {
			t.Fatalf("seed %d round %d: %v", seed, round, err)
		}
		s = r
	}
}

// lowDirtyLimit lowers minDirtyLimit for one test, so that small stores reach the
// full rebuild.
func lowDirtyLimit(t *testing.T, n int) {
	old := minDirtyLimit
	minDirtyLimit = n
	t.Cleanup(func() { minDirtyLimit = old })
}

// TestSnapshotChurnBounded: a store whose keys are inserted and deleted many times
// between two snapshots (a long recovery replay) records at most dirtyLimit changed
// keys, then rebuilds the whole snapshot, which still equals the sorted one.
func TestSnapshotChurnBounded(t *testing.T) {
	lowDirtyLimit(t, 256)
	s := New()
	for i := range 100 {
		s.Execute(put(fmt.Sprintf("keep%d", i), "v"))
	}
	s.Snapshot()
	for i := range 2_000 {
		k := fmt.Sprintf("churn%d", i)
		s.Execute(put(k, "x"))
		if i%2 == 0 {
			s.Execute(del(k))
		}
		if len(s.dirty) > s.dirtyLimit() {
			t.Fatalf("after %d churned keys the dirty set holds %d, limit %d", i+1, len(s.dirty), s.dirtyLimit())
		}
	}
	if !s.rebuild {
		t.Fatal("2,000 changed keys did not mark the store for a full rebuild")
	}
	if got, want := s.Snapshot(), sortedSnapshot(s); !bytes.Equal(got, want) {
		t.Fatalf("after a rebuild: Snapshot differs from the sorted snapshot (%d keys)", s.Len())
	}
	if s.rebuild || len(s.dirty) != 0 {
		t.Fatalf("after Snapshot: rebuild %v, %d dirty keys", s.rebuild, len(s.dirty))
	}
	s.Execute(put("keep5", "changed")) // back to merging
	if got, want := s.Snapshot(), sortedSnapshot(s); !bytes.Equal(got, want) {
		t.Fatal("the merge after a rebuild differs from the sorted snapshot")
	}
}

// TestSnapshotRebuildDifferential: with the dirty limit lowered to a few keys, so that
// stores switch between merging and full rebuilds all the time (the limit crossed by
// puts and by deletes, restores while a rebuild is pending), every Snapshot equals
// the snapshot by definition.
func TestSnapshotRebuildDifferential(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13, 14} {
		lowDirtyLimit(t, int(seed%4)+1)
		rng := rand.New(rand.NewPCG(seed, 0))
		s, rebuilds, restores := New(), 0, 0
		for round := range 400 {
			for range rng.IntN(40) {
				s.Execute(randomOp(rng, 30))
				if rng.IntN(8) == 0 {
					s.Digest()
				}
			}
			if rng.IntN(3) == 0 { // delete some held keys: more changed keys than held ones
				held := slices.Sorted(maps.Keys(s.m))
				for _, k := range held[:rng.IntN(len(held)+1)] {
					s.Execute(del(k))
				}
			}
			if s.rebuild {
				rebuilds++
			}
			if rng.IntN(6) == 0 { // a restore, possibly while a rebuild is pending
				r := New()
				if err := r.Restore(sortedSnapshot(s)); err != nil {
					t.Fatalf("seed %d round %d: %v", seed, round, err)
				}
				for range rng.IntN(8) {
					r.Execute(randomOp(rng, 30))
				}
				s, restores = r, restores+1
			}
			if got, want := s.Snapshot(), sortedSnapshot(s); !bytes.Equal(got, want) {
				t.Fatalf("seed %d round %d: Snapshot differs from the sorted snapshot (%d keys, limit %d)", seed, round, s.Len(), s.dirtyLimit())
			}
		}
		if rebuilds == 0 || restores == 0 {
			t.Fatalf("seed %d: %d rebuilds and %d restores: the test no longer reaches both", seed, rebuilds, restores)
		}
	}
}

// TestSnapshotNotAliased: Restore keeps its own copy of the snapshot, so a caller that
// reuses its buffer does not change the store's next snapshot; and no Snapshot (empty
// store, restored, merged, rebuilt) has spare capacity, so a caller's append copies
// instead of writing into the store's buffer.
func TestSnapshotNotAliased(t *testing.T) {
	noSpare := func(what string, b []byte) {
		t.Helper()
		if cap(b) != len(b) {
			t.Fatalf("%s: Snapshot has %d bytes of spare capacity", what, cap(b)-len(b))
		}
	}
	s := New()
	noSpare("empty store", s.Snapshot())
	s.Execute(put("a", "1"))
	noSpare("merged", s.Snapshot())
	buf := bytes.Clone(s.Snapshot())
	r := New()
	if err := r.Restore(buf); err != nil {
		t.Fatal(err)
	}
	noSpare("restored", r.Snapshot())
	clear(buf)
	r.Execute(put("b", "2"))
	if got, want := r.Snapshot(), sortedSnapshot(r); !bytes.Equal(got, want) {
		t.Fatalf("after the caller's buffer changed: % x, want % x", got, want)
	}
	lowDirtyLimit(t, 1)
	r.Execute(del("a"))
	r.Execute(del("b")) // the store is empty: a second changed key passes the limit
	r.Execute(put("c", "3"))
	if !r.rebuild {
		t.Fatal("two changes past a limit of one did not mark a rebuild")
	}
	noSpare("rebuilt", r.Snapshot())
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
		}{{"incremental", (*Store).Snapshot}, {"full-sort", sortedSnapshot}} {
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
