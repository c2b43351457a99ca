package kv

import (
	"bytes"
	"fmt"
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

// TestSnapshotLargeStore: past 65,535 entries (a five-byte count head) and across
// changes, snapshots and a restore, Snapshot equals the snapshot by definition.
func TestSnapshotLargeStore(t *testing.T) {
	const seed = 9
	rng := rand.New(rand.NewPCG(seed, 0))
	s := New()
	for i := range 70_000 {
		s.Execute(put(fmt.Sprintf("c%d/k%d", i%64, i), "v"))
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

// TestSnapshotChurnBounded: a store whose keys are inserted and deleted many times
// between two snapshots (a long recovery replay) records at most dirtyLimit changed
// keys, then rebuilds the whole snapshot, which still equals the sorted one.
func TestSnapshotChurnBounded(t *testing.T) {
	s := New()
	for i := range 100 {
		s.Execute(put(fmt.Sprintf("keep%d", i), "v"))
	}
	s.Snapshot()
	for i := range 20_000 {
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
		t.Fatal("20,000 changed keys did not mark the store for a full rebuild")
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
	got := r.Snapshot()
	if want := sortedSnapshot(r); !bytes.Equal(got, want) {
		t.Fatalf("after the caller's buffer changed: % x, want % x", got, want)
	}
	_ = append(got, 0xee) // a caller's append must copy, not write into the store's buffer
	r.Execute(put("c", "3"))
	if next, want := r.Snapshot(), sortedSnapshot(r); !bytes.Equal(next, want) || cap(got) != len(got) {
		t.Fatalf("Snapshot has spare capacity %d or differs after an append to it", cap(got)-len(got))
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
