package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func op(o spec.KVOp) []byte { return spec.Encode(&o) }

func put(k, v string) []byte { return op(spec.KVOp{Op: spec.KVPut, Key: []byte(k), Value: []byte(v)}) }
func get(k string) []byte    { return op(spec.KVOp{Op: spec.KVGet, Key: []byte(k)}) }
func del(k string) []byte    { return op(spec.KVOp{Op: spec.KVDelete, Key: []byte(k)}) }
func cas(k, exp, v string, absent bool) []byte {
	return op(spec.KVOp{Op: spec.KVCAS, Key: []byte(k), Value: []byte(v), Expected: []byte(exp), Absent: absent})
}

func res(status uint64, v string) spec.Result { return spec.Result{Status: status, Value: []byte(v)} }

func sameResult(a, b spec.Result) bool { return a.Status == b.Status && bytes.Equal(a.Value, b.Value) }

// TestOpSemantics runs table-driven sequences of operations on a fresh store and
// checks every result of SPEC.md §12.6.
func TestOpSemantics(t *testing.T) {
	big := string(make([]byte, spec.MaxKVValue))
	key256 := string(bytes.Repeat([]byte{'k'}, 256))
	type step struct {
		op   []byte
		want spec.Result
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"get missing", []step{{get("a"), res(spec.StatusNotFound, "")}}},
		{"put then get", []step{{put("a", "1"), res(spec.StatusOK, "")}, {get("a"), res(spec.StatusOK, "1")}}},
		{"put overwrites", []step{{put("a", "1"), res(0, "")}, {put("a", "2"), res(0, "")}, {get("a"), res(0, "2")}}},
		{"put empty value", []step{{put("a", ""), res(0, "")}, {get("a"), res(0, "")}, {del("a"), res(0, "")}, {get("a"), res(spec.StatusNotFound, "")}}},
		{"delete returns old value", []step{{put("a", "1"), res(0, "")}, {del("a"), res(0, "1")}, {get("a"), res(spec.StatusNotFound, "")}}},
		{"delete missing", []step{{del("a"), res(spec.StatusNotFound, "")}}},
		{"cas absent ok", []step{{cas("a", "", "1", true), res(0, "")}, {get("a"), res(0, "1")}}},
		{"cas absent but present", []step{{put("a", "x"), res(0, "")}, {cas("a", "", "1", true), res(spec.StatusCASMismatch, "x")}, {get("a"), res(0, "x")}}},
		{"cas expected ok", []step{{put("a", "x"), res(0, "")}, {cas("a", "x", "y", false), res(0, "")}, {get("a"), res(0, "y")}}},
		{"cas expected mismatch", []step{{put("a", "x"), res(0, "")}, {cas("a", "z", "y", false), res(spec.StatusCASMismatch, "x")}, {get("a"), res(0, "x")}}},
		{"cas expected on missing key", []step{{cas("a", "", "y", false), res(spec.StatusCASMismatch, "")}, {get("a"), res(spec.StatusNotFound, "")}}},
		{"cas empty expected matches empty value", []step{{put("a", ""), res(0, "")}, {cas("a", "", "y", false), res(0, "")}, {get("a"), res(0, "y")}}},
		{"max key and value", []step{{put(key256, big), res(0, "")}, {get(key256), res(0, big)}}},
		{"empty key", []step{{put("", "1"), res(spec.StatusBadOp, "")}, {get(""), res(spec.StatusBadOp, "")}}},
		{"key too long", []step{{put(key256+"k", "1"), res(spec.StatusBadOp, "")}}},
		{"value too long", []step{{put("a", big+"x"), res(spec.StatusBadOp, "")}, {get("a"), res(spec.StatusNotFound, "")}}},
		{"value too long on get", []step{{op(spec.KVOp{Op: spec.KVGet, Key: []byte("a"), Value: []byte(big + "x")}), res(spec.StatusBadOp, "")}}},
		{"absent with expected", []step{{cas("a", "x", "1", true), res(spec.StatusBadOp, "")}, {get("a"), res(spec.StatusNotFound, "")}}},
		{"unknown op 0", []step{{op(spec.KVOp{Op: 0, Key: []byte("a")}), res(spec.StatusBadOp, "")}}},
		{"unknown op 5", []step{{op(spec.KVOp{Op: 5, Key: []byte("a")}), res(spec.StatusBadOp, "")}}},
		{"garbage", []step{{[]byte{0xff, 0x00}, res(spec.StatusBadOp, "")}, {nil, res(spec.StatusBadOp, "")}}},
		{"non-canonical", []step{{append([]byte{0x85, 0x18, 0x01}, put("a", "1")[2:]...), res(spec.StatusBadOp, "")}}},
		{"trailing bytes", []step{{append(put("a", "1"), 0), res(spec.StatusBadOp, "")}, {get("a"), res(spec.StatusNotFound, "")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for i, st := range tc.steps {
				if got := s.Execute(st.op); !sameResult(got, st.want) {
					t.Fatalf("step %d: got status %d value %q, want status %d value %q", i, got.Status, trunc(got.Value), st.want.Status, trunc(st.want.Value))
				}
			}
		})
	}
}

func trunc(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%s…(%d bytes)", b[:16], len(b))
	}
	return string(b)
}

// TestRandomAgainstModel runs seeded random operations against a trivial model map.
func TestRandomAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		s, model := New(), map[string]string{}
		for i := 0; i < 3000; i++ {
			k := fmt.Sprintf("k%d", rng.IntN(20))
			v := fmt.Sprintf("v%d", rng.IntN(5))
			var o []byte
			var want spec.Result
			cur, ok := model[k]
			switch rng.IntN(5) {
			case 0:
				o, want = put(k, v), res(0, "")
				model[k] = v
			case 1:
				o, want = get(k), res(0, cur)
				if !ok {
					want = res(spec.StatusNotFound, "")
				}
			case 2:
				o, want = del(k), res(0, cur)
				if !ok {
					want = res(spec.StatusNotFound, "")
				}
				delete(model, k)
			case 3:
				o = cas(k, "", v, true)
				want = res(spec.StatusCASMismatch, cur)
				if !ok {
					want = res(0, "")
					model[k] = v
				}
			case 4:
				exp := fmt.Sprintf("v%d", rng.IntN(5))
				o = cas(k, exp, v, false)
				want = res(spec.StatusCASMismatch, cur)
				if ok && cur == exp {
					want = res(0, "")
					model[k] = v
				}
			}
			if got := s.Execute(o); !sameResult(got, want) {
				t.Fatalf("seed %d op %d: got %+v want %+v", seed, i, got, want)
			}
			if i%500 == 0 {
				checkModel(t, seed, s, model)
			}
		}
		checkModel(t, seed, s, model)
	}
}

func checkModel(t *testing.T, seed uint64, s *Store, model map[string]string) {
	t.Helper()
	if s.Len() != len(model) {
		t.Fatalf("seed %d: store has %d keys, model %d", seed, s.Len(), len(model))
	}
	for k, v := range model {
		if got := s.Execute(get(k)); !sameResult(got, res(0, v)) {
			t.Fatalf("seed %d: key %q: got %+v, model %q", seed, k, got, v)
		}
	}
}

// TestSnapshotRoundTrip checks that a snapshot is canonical, sorted, restores to an
// equal state with an equal digest, and that the digest tracks changes.
func TestSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := New()
	empty := s.Digest()
	for i := 0; i < 500; i++ {
		s.Execute(put(fmt.Sprintf("key-%d", rng.IntN(300)), fmt.Sprintf("%d", rng.Uint64())))
	}
	snap := s.Snapshot()
	var ks spec.KVSnapshot
	if err := spec.Decode(snap, &ks, spec.MaxSnapshotBytes); err != nil {
		t.Fatalf("snapshot is not canonical: %v", err)
	}
	for i := 1; i < len(ks.Entries); i++ {
		if bytes.Compare(ks.Entries[i-1].Key, ks.Entries[i].Key) >= 0 {
			t.Fatalf("entries not sorted at %d", i)
		}
	}
	r := New()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Snapshot(), snap) || r.Digest() != s.Digest() || r.Len() != s.Len() {
		t.Fatal("restored store differs")
	}
	d := r.Digest()
	r.Execute(put("new", "x"))
	if r.Digest() == d {
		t.Fatal("digest did not change after put")
	}
	r.Execute(del("new"))
	if r.Digest() != d {
		t.Fatal("digest did not come back after delete")
	}
	if err := r.Restore(New().Snapshot()); err != nil || r.Digest() != empty || r.Len() != 0 {
		t.Fatal("restore of the empty snapshot failed")
	}
}

// TestRestoreRejects checks that Restore rejects bad snapshots and leaves the state.
func TestRestoreRejects(t *testing.T) {
	entries := func(kv ...string) []byte {
		var ks spec.KVSnapshot
		for i := 0; i+1 < len(kv); i += 2 {
			ks.Entries = append(ks.Entries, spec.KVEntry{Key: []byte(kv[i]), Value: []byte(kv[i+1])})
		}
		return spec.Encode(&ks)
	}
	good := entries("a", "1", "b", "2")
	bad := map[string][]byte{
		"unsorted":      entries("b", "1", "a", "2"),
		"duplicate":     entries("a", "1", "a", "2"),
		"empty key":     entries("", "1"),
		"long key":      entries(string(make([]byte, 257)), "1"),
		"long value":    entries("a", string(make([]byte, spec.MaxKVValue+1))),
		"trailing":      append(append([]byte{}, good...), 0),
		"non-canonical": append([]byte{0x81, 0x98, 0x02}, good[2:]...),
		"not an array":  {0x40},
		"empty":         nil,
		"wrong arity":   {0x82, 0x80, 0x80},
	}
	for name, snap := range bad {
		t.Run(name, func(t *testing.T) {
			s := New()
			s.Execute(put("keep", "me"))
			before := s.Snapshot()
			if err := s.Restore(snap); err == nil {
				t.Fatal("bad snapshot accepted")
			}
			if !bytes.Equal(s.Snapshot(), before) {
				t.Fatal("rejected restore changed the state")
			}
		})
	}
	s := New()
	if err := s.Restore(good); err != nil {
		t.Fatalf("good snapshot rejected: %v", err)
	}
}

// TestGarbageIsNoOp checks that random byte strings give StatusBadOp (or a valid
// result if they happen to decode) and never change the state when bad.
func TestGarbageIsNoOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	s := New()
	s.Execute(put("a", "1"))
	d := s.Digest()
	for i := 0; i < 5000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if r := s.Execute(b); r.Status != spec.StatusBadOp {
			t.Fatalf("garbage %x gave status %d", b, r.Status)
		}
		if s.Digest() != d {
			t.Fatalf("garbage %x changed the state", b)
		}
	}
}

// FuzzExecute checks that no operation bytes panic and bad operations change nothing.
func FuzzExecute(f *testing.F) {
	f.Add(put("a", "1"))
	f.Add(cas("a", "", "1", true))
	f.Add([]byte{0x85})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New()
		s.Execute(put("a", "1"))
		d := s.Digest()
		if r := s.Execute(b); r.Status == spec.StatusBadOp && s.Digest() != d {
			t.Fatal("bad op changed the state")
		}
	})
}
